/// The libpcap DLT values ftpscope decodes; anything else is counted and skipped.
public enum LinkType: Sendable, Equatable {
    case null        // BSD loopback, host byte order family
    case ethernet
    case raw         // bare IPv4 or IPv6
    case ipv4
    case ipv6
    case linuxSLL
    case linuxSLL2
    case loop        // OpenBSD loopback, network byte order family
    case unsupported(Int32)

    public init(dlt: Int32) {
        switch dlt {
        case 0: self = .null
        case 1: self = .ethernet
        case 12, 14, 101: self = .raw
        case 228: self = .ipv4
        case 229: self = .ipv6
        case 113: self = .linuxSLL
        case 276: self = .linuxSLL2
        case 108: self = .loop
        default: self = .unsupported(dlt)
        }
    }

    public var dlt: Int32 {
        switch self {
        case .null: 0
        case .ethernet: 1
        case .raw: 101
        case .ipv4: 228
        case .ipv6: 229
        case .linuxSLL: 113
        case .linuxSLL2: 276
        case .loop: 108
        case .unsupported(let v): v
        }
    }
}
