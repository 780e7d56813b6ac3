import PacketCapture

/// Wraps frames the way tunnels and mirrors deliver them, for the decoder's tests: each takes
/// an inner Ethernet frame (or, for the IP-level ones, an IP packet) and returns the outer
/// Ethernet frame.
public enum Encapsulation: String, CaseIterable, Sendable {
    case vxlan, geneve, gre, greBridged, erspan2, erspan3, ipInIP, mpls, pppoe

    /// Whether the tunnel carries the inner Ethernet frame (else its IP packet).
    public var carriesEthernet: Bool { [.vxlan, .geneve, .greBridged, .erspan2, .erspan3].contains(self) }

    public func wrap(_ inner: [UInt8]) -> [UInt8] {
        let be16 = FrameBuilder.be16, be32 = FrameBuilder.be32
        let ipv6Inside = !carriesEthernet && inner.first.map { $0 >> 4 == 6 } == true
        func ethernet(_ type: UInt16, _ body: [UInt8]) -> [UInt8] {
            [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2] + be16(type) + body
        }
        /// An outer IPv4 packet between two tunnel endpoints.
        func ipv4(_ proto: UInt8, _ body: [UInt8]) -> [UInt8] {
            [0x45, 0] + be16(UInt16(20 + body.count)) + [0, 1, 0x40, 0, 64, proto, 0, 0]
                + [172, 31, 0, 1] + [172, 31, 0, 2] + body
        }
        func udp(_ port: UInt16, _ body: [UInt8]) -> [UInt8] {
            be16(49152) + be16(port) + be16(UInt16(8 + body.count)) + [0, 0] + body
        }
        switch self {
        case .vxlan:
            return ethernet(0x0800, ipv4(17, udp(4789, [0x08, 0, 0, 0] + be32(42 << 8) + inner)))
        case .geneve:
            // One 8-byte option (length 2 words), then transparent Ethernet.
            return ethernet(0x0800, ipv4(17, udp(6081, [0x02, 0] + be16(0x6558) + be32(42 << 8) + [UInt8](repeating: 0, count: 8) + inner)))
        case .gre:
            // With a key: the flags say 4 more bytes.
            let type: UInt16 = ipv6Inside ? 0x86DD : 0x0800
            return ethernet(0x0800, ipv4(47, be16(0x2000) + be16(type) + be32(7) + inner))
        case .greBridged:
            return ethernet(0x0800, ipv4(47, be16(0) + be16(0x6558) + inner))
        case .erspan2:
            return ethernet(0x0800, ipv4(47, be16(0x1000) + be16(0x88BE) + be32(1) + [0x10, 0, 0, 1, 0, 0, 0, 0] + inner))
        case .erspan3:
            return ethernet(0x0800, ipv4(47, be16(0x1000) + be16(0x22EB) + be32(1) + [0x20, 0, 0, 1] + [UInt8](repeating: 0, count: 8) + inner))
        case .ipInIP:
            // IPv4 in IPv4 (protocol 4) or IPv6 in IPv4 (41, 6in4).
            return ethernet(0x0800, ipv4(ipv6Inside ? 41 : 4, inner))
        case .mpls:
            // Two labels, the second the bottom of the stack.
            return ethernet(0x8847, [0, 0x01, 0x00, 64] + [0, 0x02, 0x01, 64] + inner)
        case .pppoe:
            return ethernet(0x8864, [0x11, 0] + be16(0x0001) + be16(UInt16(2 + inner.count)) + be16(ipv6Inside ? 0x0057 : 0x0021) + inner)
        }
    }
}

extension Conversation {
    /// Every frame wrapped as `tunnel` delivers it; the conversation's link must be Ethernet
    /// for tunnels that carry Ethernet and raw IP for the others.
    public mutating func encapsulate(_ tunnel: Encapsulation) {
        for i in packets.indices { setFrame(i, tunnel.wrap(packets[i].frame)) }
        link = .ethernet()
    }
}
