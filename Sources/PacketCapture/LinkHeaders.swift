/// Link layers other than Ethernet, loopback and Linux's cooked headers: wireless monitor
/// captures (802.11 bare, behind radiotap or PPI), serial lines (PPP, Cisco HDLC) and firewall
/// logs (Linux's NFLOG, BSD pf's PFLOG). Each finds where the network layer begins and names it by EtherType,
/// so VLAN tags, tunnels and IP are decoded as for Ethernet. Out of line: a capture of these
/// reaches it, the common path does not.
enum LinkHeaders {
    typealias Found = Result<(etherType: UInt16, offset: Int), DecodeOutcome>

    @inline(never)
    static func network(_ linkType: LinkType, _ f: UnsafeRawBufferPointer) -> Found {
        switch linkType {
        case .ieee80211: ieee80211(f, at: 0, padded: false)
        case .radiotap: radiotap(f)
        case .ppi: ppi(f)
        case .ppp: ppp(f, at: 0)
        case .pppWithDirection: ppp(f, at: 1)
        case .pppSerial: f.count >= 1 && f[0] != 0xFF ? ciscoHDLC(f) : ppp(f, at: 0)
        case .ciscoHDLC: ciscoHDLC(f)
        case .nflog: nflog(f)
        case .pflog: pflog(f)
        default: .failure(.unsupportedLinkType(linkType.dlt))
        }
    }

    /// An 802.11 data frame's payload behind its LLC/SNAP header. Frames that carry no IP
    /// packet readable here are "not IP": management and control frames, null data, frames
    /// encrypted on the air (WEP, WPA: the protected bit), fragments of an 802.11 frame and
    /// aggregated A-MSDUs.
    static func ieee80211(_ f: UnsafeRawBufferPointer, at start: Int, padded: Bool) -> Found {
        let n = f.count
        guard n >= start + 24 else { return .failure(.malformed(.truncatedLinkHeader)) }
        let control = f[start], flags = f[start + 1]
        let type = (control >> 2) & 0x03, subtype = control >> 4
        guard control & 0x03 == 0, type == 2, subtype & 0x04 == 0 else { return .failure(.notIP) }
        guard flags & 0x40 == 0, flags & 0x04 == 0, f[start + 22] & 0x0F == 0 else { return .failure(.notIP) }
        var header = 24
        if flags & 0x03 == 0x03 { header += 6 }          // to and from the distribution system: a fourth address
        if subtype & 0x08 != 0 {                          // QoS data
            guard n >= start + header + 2 else { return .failure(.malformed(.truncatedLinkHeader)) }
            guard f[start + header] & 0x80 == 0 else { return .failure(.notIP) }
            header += 2
            if flags & 0x80 != 0 { header += 4 }          // HT control
        }
        if padded { header = (header + 3) & ~3 }
        let llc = start + header
        guard n >= llc + 8 else { return .failure(.malformed(.truncatedLinkHeader)) }
        guard f[llc] == 0xAA, f[llc + 1] == 0xAA, f[llc + 2] == 0x03 else { return .failure(.notIP) }
        return .success((f.be16(llc + 6), llc + 8))
    }

    /// Radiotap: its own length says where the 802.11 frame begins; its flags field whether
    /// the driver padded the 802.11 header to four bytes. A frame check sequence at the end
    /// needs nothing: the IP header's length ends the packet before it.
    static func radiotap(_ f: UnsafeRawBufferPointer) -> Found {
        guard let length = ownLength(f) else { return .failure(.malformed(.truncatedLinkHeader)) }
        let first = le32(f, 4)
        var fields = 8
        var present = first
        while present & 0x8000_0000 != 0 {                // more bitmaps follow
            guard fields + 4 <= length else { return .failure(.malformed(.truncatedLinkHeader)) }
            present = le32(f, fields)
            fields += 4
        }
        var padded = false
        if first & 0x02 != 0 {                            // the flags field, after TSFT if present
            if first & 0x01 != 0 { fields = ((fields + 7) & ~7) + 8 }
            guard fields < length else { return .failure(.malformed(.truncatedLinkHeader)) }
            padded = f[fields] & 0x20 != 0
        }
        return ieee80211(f, at: length, padded: padded)
    }

    /// PPI (CACE, Wireshark's AirPcap): a header of its own length naming the link type behind it.
    static func ppi(_ f: UnsafeRawBufferPointer) -> Found {
        guard let length = ownLength(f) else { return .failure(.malformed(.truncatedLinkHeader)) }
        let inner = le32(f, 4)
        guard inner == 105 else { return .failure(.unsupportedLinkType(Int32(bitPattern: inner))) }
        return ieee80211(f, at: length, padded: false)
    }

    /// PPP (RFC 1661): HDLC address and control bytes when present, then the protocol, one
    /// byte when compressed (RFC 1661 6.5).
    static func ppp(_ f: UnsafeRawBufferPointer, at start: Int) -> Found {
        let n = f.count
        var at = start
        if n >= at + 2, f[at] == 0xFF, f[at + 1] == 0x03 { at += 2 }
        guard n >= at + 1 else { return .failure(.malformed(.truncatedLinkHeader)) }
        let proto: UInt16
        if f[at] & 0x01 != 0 {
            proto = UInt16(f[at]); at += 1
        } else {
            guard n >= at + 2 else { return .failure(.malformed(.truncatedLinkHeader)) }
            proto = f.be16(at); at += 2
        }
        switch proto {
        case 0x0021: return .success((0x0800, at))
        case 0x0057: return .success((0x86DD, at))
        default: return .failure(.notIP)
        }
    }

    /// Cisco HDLC: address (unicast or broadcast), control, then an EtherType.
    static func ciscoHDLC(_ f: UnsafeRawBufferPointer) -> Found {
        guard f.count >= 4 else { return .failure(.malformed(.truncatedLinkHeader)) }
        guard f[0] == 0x0F || f[0] == 0x8F else { return .failure(.notIP) }
        return .success((f.be16(2), 4))
    }

    /// NFLOG: a family, version and group, then type-length-value attributes; the packet is
    /// the payload attribute (type 9), from its IP header on. Lengths and types are in the byte
    /// order of the host that logged (libpcap writes them as the kernel gave them), so a
    /// length that does not fit is read the other way round.
    static func nflog(_ f: UnsafeRawBufferPointer) -> Found {
        let n = f.count
        guard n >= 4 else { return .failure(.malformed(.truncatedLinkHeader)) }
        var at = 4
        while at + 4 <= n {
            var length = Int(le16(f, at)), type = le16(f, at + 2)
            if length < 4 || at + length > n {
                length = Int(f.be16(at)); type = f.be16(at + 2)
                guard length >= 4, at + length <= n else { return .failure(.malformed(.truncatedLinkHeader)) }
            }
            if type & 0x7FFF == 9 {
                let ip = at + 4
                guard length > 4 else { return .failure(.malformed(.truncatedIPHeader)) }
                return .success((f[ip] >> 4 == 6 ? 0x86DD : 0x0800, ip))
            }
            at += (length + 3) & ~3
        }
        return .failure(.notIP)
    }

    /// PFLOG (`tcpdump -i pflog0`): pf's header (rule, action, interface) says its own length
    /// in its first byte, padded to four bytes as libpcap and tcpdump read it; the packet follows
    /// from its IP header on. Its address family byte differs between the BSDs for IPv6 (24, 28,
    /// 30): the IP version says which.
    static func pflog(_ f: UnsafeRawBufferPointer) -> Found {
        // The header holds at least length, family, action, reason and the interface name.
        guard f.count >= 1, f[0] >= 20 else { return .failure(.malformed(.truncatedLinkHeader)) }
        let ip = (Int(f[0]) + 3) & ~3
        guard f.count > ip else { return .failure(.malformed(.truncatedLinkHeader)) }
        switch f[ip] >> 4 {
        case 4: return .success((0x0800, ip))
        case 6: return .success((0x86DD, ip))
        default: return .failure(.notIP)
        }
    }

    /// Radiotap and PPI both begin with version 0, a byte, and their own length, little-endian,
    /// at least the 8 bytes of their fixed part: the length, when the frame holds that much.
    private static func ownLength(_ f: UnsafeRawBufferPointer) -> Int? {
        guard f.count >= 8, f[0] == 0 else { return nil }
        let length = Int(le16(f, 2))
        return length >= 8 && f.count >= length ? length : nil
    }

    @inline(__always) private static func le16(_ f: UnsafeRawBufferPointer, _ i: Int) -> UInt16 {
        UInt16(littleEndian: f.baseAddress!.loadUnaligned(fromByteOffset: i, as: UInt16.self))
    }
    @inline(__always) private static func le32(_ f: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(littleEndian: f.baseAddress!.loadUnaligned(fromByteOffset: i, as: UInt32.self))
    }
}
