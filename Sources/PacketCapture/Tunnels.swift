/// Packets carried inside other packets, as mirrored and carrier traffic arrives: VXLAN (AWS
/// traffic mirroring), Geneve, GRE and ERSPAN (switch port mirrors), IP in IP, MPLS, PPPoE.
/// The inner TCP segment is what is analyzed, keyed by its own addresses. Followed at most
/// `maxDepth` layers down, so a packet nested on purpose costs a bounded walk. Kept off the
/// plain path: a frame reaches these only when its IP payload is not TCP or its EtherType is
/// not IP.
enum Tunnels {
    static let maxDepth = 4
    static let vxlanPort: UInt16 = 4789
    static let genevePort: UInt16 = 6081

    /// An EtherType other than IPv4 or IPv6 (after VLAN tags): MPLS or a PPPoE session.
    @inline(never)
    static func below(etherType: UInt16, _ f: UnsafeRawBufferPointer, _ offset: Int, depth: Int,
                      _ decoder: PacketDecoder) -> Result<TCPSegment, DecodeOutcome> {
        let n = f.count
        switch etherType {
        case 0x8847, 0x8848:
            // MPLS labels until the bottom of the stack; what follows is told by its first nibble.
            var at = offset
            while true {
                guard n >= at + 4 else { return .failure(.malformed(.truncatedLinkHeader)) }
                let bottom = f[at + 2] & 0x01 != 0
                at += 4
                if bottom { break }
            }
            guard n > at else { return .failure(.malformed(.truncatedIPHeader)) }
            switch f[at] >> 4 {
            case 4: return decoder.decodeIPv4(f, at, depth: depth)
            case 6: return decoder.decodeIPv6(f, at, depth: depth)
            default: return .failure(.notIP)  // a pseudowire's Ethernet, without a sure sign of it
            }
        case 0x8864:
            // PPPoE session: version/type, code, session id, length, then the PPP protocol.
            guard n >= offset + 8 else { return .failure(.malformed(.truncatedLinkHeader)) }
            let ppp = UInt16(f[offset + 6]) << 8 | UInt16(f[offset + 7])
            switch ppp {
            case 0x0021: return decoder.decodeIPv4(f, offset + 8, depth: depth)
            case 0x0057: return decoder.decodeIPv6(f, offset + 8, depth: depth)
            default: return .failure(.notIP)
            }
        default:
            return .failure(.notIP)
        }
    }

    /// An IP payload other than TCP: another IP packet, GRE, or UDP to a tunnel's port.
    @inline(never)
    static func inside(protocol proto: UInt8, _ f: UnsafeRawBufferPointer, _ start: Int, end: Int, depth: Int,
                       _ decoder: PacketDecoder) -> Result<TCPSegment, DecodeOutcome> {
        guard depth < maxDepth else { return .failure(.notTCP) }
        let n = min(f.count, max(start, end))
        switch proto {
        case 4: return decoder.decodeIPv4(f, start, depth: depth + 1)
        case 41: return decoder.decodeIPv6(f, start, depth: depth + 1)
        case 47: return gre(f, start, n, depth: depth + 1, decoder)
        case 17:
            guard n >= start + 8 else { return .failure(.notTCP) }
            let port = UInt16(f[start + 2]) << 8 | UInt16(f[start + 3])
            let body = start + 8
            if port == vxlanPort {
                // Flags (the I bit says a network id follows), reserved, id, reserved.
                guard n >= body + 8, f[body] & 0x08 != 0 else { return .failure(.notTCP) }
                return ethernet(f, body + 8, depth: depth + 1, decoder)
            }
            if port == genevePort {
                guard n >= body + 8, f[body] >> 6 == 0 else { return .failure(.notTCP) }
                let header = 8 + Int(f[body] & 0x3F) * 4
                let type = UInt16(f[body + 2]) << 8 | UInt16(f[body + 3])
                return payload(type, f, body + header, n, depth: depth + 1, decoder)
            }
            return .failure(.notTCP)
        default:
            return .failure(.notTCP)
        }
    }

    /// GRE (RFC 2784, 2890): optional checksum, key and sequence number, then the protocol.
    /// ERSPAN (switch mirrors) is GRE carrying Ethernet behind a header of its own.
    private static func gre(_ f: UnsafeRawBufferPointer, _ start: Int, _ n: Int, depth: Int,
                            _ decoder: PacketDecoder) -> Result<TCPSegment, DecodeOutcome> {
        guard n >= start + 4 else { return .failure(.notTCP) }
        let flags = UInt16(f[start]) << 8 | UInt16(f[start + 1])
        guard flags & 0x0007 == 0 else { return .failure(.notTCP) }  // version 1 is PPTP's, PPP inside
        let type = UInt16(f[start + 2]) << 8 | UInt16(f[start + 3])
        var at = start + 4
        if flags & 0x8000 != 0 { at += 4 }
        if flags & 0x2000 != 0 { at += 4 }
        let sequenced = flags & 0x1000 != 0
        if sequenced { at += 4 }
        switch type {
        case 0x88BE:
            // ERSPAN type II has an 8-byte header and a sequence number; type I neither.
            return ethernet(f, at + (sequenced ? 8 : 0), depth: depth, decoder)
        case 0x22EB:
            // ERSPAN type III: 12 bytes, and an 8-byte platform subheader when O is set.
            guard n >= at + 12 else { return .failure(.notTCP) }
            return ethernet(f, at + 12 + (f[at + 11] & 0x01 != 0 ? 8 : 0), depth: depth, decoder)
        default:
            return payload(type, f, at, n, depth: depth, decoder)
        }
    }

    /// What a tunnel names by EtherType: IP, or Ethernet (transparent bridging).
    private static func payload(_ type: UInt16, _ f: UnsafeRawBufferPointer, _ at: Int, _ n: Int, depth: Int,
                                _ decoder: PacketDecoder) -> Result<TCPSegment, DecodeOutcome> {
        guard n > at else { return .failure(.notTCP) }
        switch type {
        case 0x0800: return decoder.decodeIPv4(f, at, depth: depth)
        case 0x86DD: return decoder.decodeIPv6(f, at, depth: depth)
        case 0x6558: return ethernet(f, at, depth: depth, decoder)
        default: return .failure(.notTCP)
        }
    }

    /// An Ethernet frame inside a tunnel, VLAN tags and all.
    private static func ethernet(_ f: UnsafeRawBufferPointer, _ start: Int, depth: Int,
                                 _ decoder: PacketDecoder) -> Result<TCPSegment, DecodeOutcome> {
        var at = start + 12
        guard f.count >= at + 2 else { return .failure(.malformed(.truncatedLinkHeader)) }
        var type = UInt16(f[at]) << 8 | UInt16(f[at + 1])
        at += 2
        while type == 0x8100 || type == 0x88A8 || type == 0x9100 {
            guard f.count >= at + 4 else { return .failure(.malformed(.truncatedLinkHeader)) }
            type = UInt16(f[at + 2]) << 8 | UInt16(f[at + 3])
            at += 4
        }
        switch type {
        case 0x0800: return decoder.decodeIPv4(f, at, depth: depth)
        case 0x86DD: return decoder.decodeIPv6(f, at, depth: depth)
        default: return below(etherType: type, f, at, depth: depth, decoder)
        }
    }
}
