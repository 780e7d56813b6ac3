import PacketCapture

/// Builds link/IP/TCP frames byte by byte for synthetic captures.
public enum FrameBuilder {
    public enum Link: Sendable { case ethernet(vlans: [UInt16] = [], qinq: Bool = false), linuxSLL, linuxSLL2, null, raw }

    public static func tcp(src: Endpoint, dst: Endpoint, seq: UInt32, ack: UInt32, flags: TCPFlags,
                           payload: [UInt8] = [], link: Link = .ethernet(), ipv4Options: [UInt8] = [],
                           ipv6ExtensionHeaders: Bool = false, window: UInt16 = 65535) -> [UInt8] {
        var tcp: [UInt8] = []
        tcp += be16(src.port) + be16(dst.port) + be32(seq) + be32(ack)
        tcp += [0x50, flags.rawValue] + be16(window) + [0, 0, 0, 0]
        tcp += payload
        var ip: [UInt8]
        let isV6: Bool
        switch (src.address, dst.address) {
        case (.v4(let s), .v4(let d)):
            isV6 = false
            var opts = ipv4Options
            while opts.count % 4 != 0 { opts.append(0) }
            let ihl = UInt8(5 + opts.count / 4)
            ip = [0x40 | ihl, 0] + be16(UInt16(20 + opts.count + tcp.count)) + [0, 1, 0x40, 0, 64, 6, 0, 0]
            ip += be32(s) + be32(d) + opts
            ip += tcp
        case (.v6(let sh, let sl), .v6(let dh, let dl)):
            isV6 = true
            var ext: [UInt8] = []
            var next: UInt8 = 6
            if ipv6ExtensionHeaders {
                // Hop-by-hop (8 bytes) then destination options (16 bytes), then TCP.
                ext += [60, 0, 1, 4, 0, 0, 0, 0]
                ext += [6, 1, 1, 12] + [UInt8](repeating: 0, count: 12)
                next = 0
            }
            ip = [0x60, 0, 0, 0] + be16(UInt16(ext.count + tcp.count)) + [next, 64]
            ip += be64(sh) + be64(sl) + be64(dh) + be64(dl) + ext + tcp
        default:
            preconditionFailure("mixed address families")
        }
        let etherType: UInt16 = isV6 ? 0x86DD : 0x0800
        switch link {
        case .ethernet(let vlans, let qinq):
            var f: [UInt8] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
            for (i, v) in vlans.enumerated() { f += be16(qinq && i == 0 ? 0x88A8 : 0x8100) + be16(v) }
            f += be16(etherType) + ip
            while f.count < 60 { f.append(0) }  // Ethernet padding the decoder must ignore
            return f
        case .linuxSLL:
            return be16(0) + be16(772) + be16(6) + [0, 0, 0, 0, 0, 0, 0, 0] + be16(etherType) + ip
        case .linuxSLL2:
            return be16(etherType) + be16(0) + be32(1) + be16(772) + [0, 6] + [0, 0, 0, 0, 0, 0, 0, 0] + ip
        case .null:
            return (isV6 ? [30, 0, 0, 0] : [2, 0, 0, 0]) + ip
        case .raw:
            return ip
        }
    }

    public static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    public static func be32(_ v: UInt32) -> [UInt8] { be16(UInt16(v >> 16)) + be16(UInt16(v & 0xFFFF)) }
    public static func be64(_ v: UInt64) -> [UInt8] { be32(UInt32(v >> 32)) + be32(UInt32(v & 0xFFFF_FFFF)) }
}
