import PacketCapture

/// Splits IP packets into fragments as a router (IPv4) or the sending host (IPv6) does, for
/// the reassembler's tests.
public enum Fragmentation {
    /// The fragments of the IP packet at `ipStart` of `frame`, each carrying at most `size`
    /// bytes of the datagram's data (rounded down to a multiple of 8), each behind the bytes
    /// the frame has before `ipStart`. Bytes after the IP length (Ethernet padding) are left out.
    public static func fragments(of frame: [UInt8], ipStart: Int = 14, size: Int, id: UInt32 = 0x1234) -> [[UInt8]] {
        let be16 = FrameBuilder.be16, be32 = FrameBuilder.be32
        let prefix = Array(frame[0..<ipStart])
        let piece = max(8, size / 8 * 8)
        let v6 = frame[ipStart] >> 4 == 6
        let headerLength = v6 ? 40 : Int(frame[ipStart] & 0x0F) * 4
        let header = Array(frame[ipStart..<(ipStart + headerLength)])
        let length = v6 ? 40 + (Int(frame[ipStart + 4]) << 8 | Int(frame[ipStart + 5]))
                        : Int(frame[ipStart + 2]) << 8 | Int(frame[ipStart + 3])
        let data = Array(frame[(ipStart + headerLength)..<(ipStart + length)])
        var out: [[UInt8]] = []
        var offset = 0
        while offset < data.count {
            let part = Array(data[offset..<min(data.count, offset + piece)])
            let more = offset + part.count < data.count
            var h = header
            if v6 {
                let next = h[6]
                h[6] = 44
                let fragmentHeader = [next, 0] + be16(UInt16(offset) | (more ? 1 : 0)) + be32(id)
                h.replaceSubrange(4..<6, with: be16(UInt16(8 + part.count)))
                out.append(prefix + h + fragmentHeader + part)
            } else {
                h.replaceSubrange(2..<4, with: be16(UInt16(headerLength + part.count)))
                h.replaceSubrange(4..<6, with: be16(UInt16(truncatingIfNeeded: id)))
                h.replaceSubrange(6..<8, with: be16(UInt16(offset / 8) | (more ? 0x2000 : 0)))
                out.append(prefix + h + part)
            }
            offset += part.count
        }
        return out
    }
}

extension Conversation {
    /// Every packet whose IP data is longer than `size` sent as fragments of at most `size`
    /// bytes, in reverse order when `reversed` (as some routers and load balancers deliver
    /// them). The conversation's link must be Ethernet.
    public mutating func fragment(size: Int, reversed: Bool = false) {
        var i = packets.count - 1
        var id: UInt32 = 0x4000
        while i >= 0 {
            let pieces = Fragmentation.fragments(of: packets[i].frame, size: size, id: id)
            if pieces.count > 1 { replace(i, with: reversed ? pieces.reversed() : pieces) }
            id += 1
            i -= 1
        }
    }
}
