/// Why a frame did not yield a TCP segment. Counted in the summary, never fatal.
public enum DecodeOutcome: Error, Sendable, Equatable {
    case notIP
    case notTCP
    /// A piece of an IP datagram: `FragmentReassembler` puts the datagram together.
    case ipFragment(FragmentSite)
    case malformed(MalformedPacket)
    /// A link type ftpscope does not decode (its DLT value, for the message).
    case unsupportedLinkType(Int32)
}

/// The ways a header can lie about itself.
public enum MalformedPacket: String, Sendable, Equatable, CaseIterable {
    case truncatedLinkHeader = "truncated link header"
    case truncatedIPHeader = "truncated IP header"
    case badIPHeaderLength = "bad IP header length"
    case badIPVersion = "bad IP version"
    case truncatedTCPHeader = "truncated TCP header"
    case badTCPHeaderLength = "bad TCP header length"
    case badExtensionHeader = "bad IPv6 extension header"
}

/// Big-endian fields read as whole words (callers check the length first): one load and a
/// byte swap instead of a load, shift and or per byte.
extension UnsafeRawBufferPointer {
    @inline(__always) func be16(_ i: Int) -> UInt16 {
        UInt16(bigEndian: baseAddress!.loadUnaligned(fromByteOffset: i, as: UInt16.self))
    }
    @inline(__always) func be32(_ i: Int) -> UInt32 {
        UInt32(bigEndian: baseAddress!.loadUnaligned(fromByteOffset: i, as: UInt32.self))
    }
    @inline(__always) func be64(_ i: Int) -> UInt64 {
        UInt64(bigEndian: baseAddress!.loadUnaligned(fromByteOffset: i, as: UInt64.self))
    }
}

/// Decodes link, IP and TCP headers straight from the capture buffer. Pure: no state,
/// no allocation, so a packet of a connection nobody cares about costs only this.
public struct PacketDecoder: Sendable {
    public let linkType: LinkType
    public init(linkType: LinkType) { self.linkType = linkType }

    /// A packet with a link type of its own (a pcapng file whose interfaces differ) is read as that.
    @inline(__always)
    public func decode(_ packet: RawPacket) -> Result<TCPSegment, DecodeOutcome> {
        decode(packet.bytes, as: packet.linkType)
    }

    /// `frame` read as `own` where it has a link type of its own, as the source's otherwise.
    @inline(__always)
    public func decode(_ frame: UnsafeRawBufferPointer, as own: LinkType?) -> Result<TCPSegment, DecodeOutcome> {
        if let own, own != linkType { return PacketDecoder(linkType: own).decode(frame) }
        return decode(frame)
    }

    public func decode(_ frame: UnsafeRawBufferPointer) -> Result<TCPSegment, DecodeOutcome> {
        var offset = 0
        let n = frame.count
        @inline(__always) func u16(_ i: Int) -> UInt16 { frame.be16(i) }

        var etherType: UInt16
        switch linkType {
        case .ethernet:
            guard n >= 14 else { return .failure(.malformed(.truncatedLinkHeader)) }
            etherType = u16(12)
            offset = 14
        case .linuxSLL:
            guard n >= 16 else { return .failure(.malformed(.truncatedLinkHeader)) }
            etherType = u16(14)
            offset = 16
        case .linuxSLL2:
            guard n >= 20 else { return .failure(.malformed(.truncatedLinkHeader)) }
            etherType = u16(0)
            offset = 20
        case .null, .loop:
            guard n >= 4 else { return .failure(.malformed(.truncatedLinkHeader)) }
            // DLT_NULL stores the family in the writer's byte order; accept either.
            let be = frame.be32(0)
            let family = be > 0xFFFF ? be.byteSwapped : be
            switch family {
            case 2: etherType = 0x0800
            case 10, 24, 28, 30: etherType = 0x86DD
            default: return .failure(.notIP)
            }
            offset = 4
        case .raw, .ipv4, .ipv6:
            guard n >= 1 else { return .failure(.malformed(.truncatedIPHeader)) }
            etherType = frame[0] >> 4 == 6 ? 0x86DD : 0x0800
        case .ieee80211, .radiotap, .ppi, .ppp, .pppSerial, .pppWithDirection, .ciscoHDLC, .nflog, .pflog:
            switch LinkHeaders.network(linkType, frame) {
            case .success(let found): etherType = found.etherType; offset = found.offset
            case .failure(let why): return .failure(why)
            }
        case .unsupported(let dlt):
            return .failure(.unsupportedLinkType(dlt))
        }

        // 802.1Q, 802.1ad and the pre-standard 0x9100 QinQ tag, stacked any number of times.
        while etherType == 0x8100 || etherType == 0x88A8 || etherType == 0x9100 {
            guard n >= offset + 4 else { return .failure(.malformed(.truncatedLinkHeader)) }
            etherType = u16(offset + 2)
            offset += 4
        }

        switch etherType {
        case 0x0800: return decodeIPv4(frame, offset, depth: 0)
        case 0x86DD: return decodeIPv6(frame, offset, depth: 0)
        default: return Tunnels.below(etherType: etherType, frame, offset, depth: 0, self)
        }
    }

    /// Kept out of line: the plain path stays the size it was, and inlined into `decode`.
    @inline(never)
    private func fragmentFound(ipHeader: Int, fragmentHeader: Int, payload: Int, end: Int, depth: Int) -> Result<TCPSegment, DecodeOutcome> {
        .failure(.ipFragment(FragmentSite(ipHeader: ipHeader, fragmentHeader: fragmentHeader, payload: payload, end: end, depth: depth)))
    }

    /// A datagram put together from fragments, decoded from its IP header on: the layers above
    /// it were read from the fragments already, and count towards the tunnel depth.
    func decodeDatagram(_ d: UnsafeRawBufferPointer, depth: Int) -> Result<TCPSegment, DecodeOutcome> {
        guard d.count >= 1 else { return .failure(.malformed(.truncatedIPHeader)) }
        return d[0] >> 4 == 6 ? decodeIPv6(d, 0, depth: depth) : decodeIPv4(d, 0, depth: depth)
    }

    @inline(__always)
    func decodeIPv4(_ f: UnsafeRawBufferPointer, _ start: Int, depth: Int) -> Result<TCPSegment, DecodeOutcome> {
        let n = f.count
        guard n >= start + 20 else { return .failure(.malformed(.truncatedIPHeader)) }
        guard f[start] >> 4 == 4 else { return .failure(.malformed(.badIPVersion)) }
        let ihl = Int(f[start] & 0x0F) * 4
        guard ihl >= 20 else { return .failure(.malformed(.badIPHeaderLength)) }
        guard n >= start + ihl else { return .failure(.malformed(.truncatedIPHeader)) }
        var totalLength = Int(f.be16(start + 2))
        // Segmentation offload writes 0 here; trust the captured length then.
        if totalLength == 0 { totalLength = n - start }
        guard totalLength >= ihl else { return .failure(.malformed(.badIPHeaderLength)) }
        let fragment = f.be16(start + 6)
        if fragment & 0x3FFF != 0 {
            return fragmentFound(ipHeader: start, fragmentHeader: start + 6, payload: start + ihl, end: start + totalLength, depth: depth)
        }
        guard f[start + 9] == 6 else {
            return Tunnels.inside(protocol: f[start + 9], f, start + ihl, end: start + totalLength, depth: depth, self)
        }
        let src = IPAddress.v4(f.be32(start + 12))
        let dst = IPAddress.v4(f.be32(start + 16))
        return decodeTCP(f, start + ihl, declaredLength: totalLength - ihl, src, dst)
    }

    func decodeIPv6(_ f: UnsafeRawBufferPointer, _ start: Int, depth: Int) -> Result<TCPSegment, DecodeOutcome> {
        let n = f.count
        guard n >= start + 40 else { return .failure(.malformed(.truncatedIPHeader)) }
        guard f[start] >> 4 == 6 else { return .failure(.malformed(.badIPVersion)) }
        var payloadLength = Int(f.be16(start + 4))
        if payloadLength == 0 { payloadLength = n - start - 40 }  // jumbogram or offload
        var next = f[start + 6]
        let hi = f.be64(start + 8), lo = f.be64(start + 16), dhi = f.be64(start + 24), dlo = f.be64(start + 32)
        var offset = start + 40
        var remaining = payloadLength
        // Walk extension headers; a fragment header means the TCP header may not be here.
        while true {
            switch next {
            case 6:
                return decodeTCP(f, offset, declaredLength: remaining, .v6(hi, lo), .v6(dhi, dlo))
            case 0, 43, 60, 135, 139, 140:
                guard n >= offset + 2 else { return .failure(.malformed(.badExtensionHeader)) }
                let len = (Int(f[offset + 1]) + 1) * 8
                guard remaining >= len else { return .failure(.malformed(.badExtensionHeader)) }
                next = f[offset]; offset += len; remaining -= len
            case 51:
                guard n >= offset + 2 else { return .failure(.malformed(.badExtensionHeader)) }
                let len = (Int(f[offset + 1]) + 2) * 4
                guard remaining >= len else { return .failure(.malformed(.badExtensionHeader)) }
                next = f[offset]; offset += len; remaining -= len
            case 44:
                guard n >= offset + 8 else { return .failure(.malformed(.badExtensionHeader)) }
                let fragOffsetAndM = f.be16(offset + 2)
                // An atomic fragment (offset 0, no more fragments) carries the whole datagram.
                if fragOffsetAndM & 0xFFF9 != 0 {
                    return fragmentFound(ipHeader: start, fragmentHeader: offset, payload: offset + 8, end: offset + remaining, depth: depth)
                }
                next = f[offset]; offset += 8; remaining -= 8
            default:
                return Tunnels.inside(protocol: next, f, offset, end: offset + remaining, depth: depth, self)
            }
        }
    }

    @inline(__always)
    private func decodeTCP(_ f: UnsafeRawBufferPointer, _ start: Int, declaredLength: Int,
                           _ src: IPAddress, _ dst: IPAddress) -> Result<TCPSegment, DecodeOutcome> {
        let n = f.count
        guard declaredLength >= 20 else { return .failure(.malformed(.badTCPHeaderLength)) }
        guard n >= start + 20 else { return .failure(.malformed(.truncatedTCPHeader)) }
        let dataOffset = Int(f[start + 12] >> 4) * 4
        guard dataOffset >= 20, dataOffset <= declaredLength else { return .failure(.malformed(.badTCPHeaderLength)) }
        guard n >= start + dataOffset else { return .failure(.malformed(.truncatedTCPHeader)) }
        @inline(__always) func u16(_ i: Int) -> UInt16 { f.be16(i) }
        @inline(__always) func u32(_ i: Int) -> UInt32 { f.be32(i) }
        let payloadStart = start + dataOffset
        let declaredPayload = declaredLength - dataOffset
        // Ethernet pads short frames; the IP length, not the frame, says where data ends.
        let available = min(declaredPayload, n - payloadStart)
        let payload = UnsafeRawBufferPointer(rebasing: f[payloadStart..<(payloadStart + available)])
        return .success(TCPSegment(
            source: Endpoint(src, u16(start)), destination: Endpoint(dst, u16(start + 2)),
            sequence: u32(start + 4), acknowledgment: u32(start + 8),
            flags: TCPFlags(rawValue: f[start + 13] & 0x3F),
            payload: payload, missingPayload: declaredPayload - available))
    }
}
