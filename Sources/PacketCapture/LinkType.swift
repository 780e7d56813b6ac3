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
    case ieee80211   // 802.11 frames, as monitor mode captures them
    case radiotap    // 802.11 behind a radiotap header
    case ppi         // 802.11 behind a Per-Packet Information header
    case ppp         // PPP, with or without HDLC address and control
    case pppSerial   // PPP in HDLC framing, or Cisco HDLC, on a serial line
    case pppWithDirection
    case ciscoHDLC
    case nflog       // Linux netfilter's log (tcpdump -i nflog:N)
    case pflog       // BSD pf's log (pflog0: OpenBSD, FreeBSD, pfSense, OPNsense)
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
        case 105: self = .ieee80211
        case 127: self = .radiotap
        case 192: self = .ppi
        case 9: self = .ppp
        case 50: self = .pppSerial
        case 204: self = .pppWithDirection
        case 104: self = .ciscoHDLC
        case 239: self = .nflog
        case 117: self = .pflog
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
        case .ieee80211: 105
        case .radiotap: 127
        case .ppi: 192
        case .ppp: 9
        case .pppSerial: 50
        case .pppWithDirection: 204
        case .ciscoHDLC: 104
        case .nflog: 239
        case .pflog: 117
        case .unsupported(let v): v
        }
    }
}

extension LinkType {
    /// libpcap's name for a link type (`pcap_datalink_val_to_name`), for messages.
    public var name: String {
        switch self {
        case .null: "NULL"
        case .ethernet: "EN10MB"
        case .raw: "RAW"
        case .ipv4: "IPV4"
        case .ipv6: "IPV6"
        case .linuxSLL: "LINUX_SLL"
        case .linuxSLL2: "LINUX_SLL2"
        case .loop: "LOOP"
        case .ieee80211: "IEEE802_11"
        case .radiotap: "IEEE802_11_RADIO"
        case .ppi: "PPI"
        case .ppp: "PPP"
        case .pppSerial: "PPP_SERIAL"
        case .pppWithDirection: "PPP_WITH_DIR"
        case .ciscoHDLC: "C_HDLC"
        case .nflog: "NFLOG"
        case .pflog: "PFLOG"
        case .unsupported(let v): "DLT \(v)"
        }
    }
}
