import Foundation

/// The records of a classic little-endian pcap file, to write damaged copies of a real
/// capture: a packet left out, every packet cut to a snap length.
public struct PcapRecords {
    public struct Record {
        /// The 16-byte record header (time, captured length, length on the wire).
        public var header: [UInt8]
        public var frame: [UInt8]
    }

    public let fileHeader: [UInt8]
    public var records: [Record]

    public init(contentsOf path: String) throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        precondition(bytes.count >= 24 && bytes[0] == 0xD4 && bytes[1] == 0xC3, "a little-endian classic pcap")
        fileHeader = Array(bytes[0..<24])
        var out: [Record] = []
        var i = 24
        while i + 16 <= bytes.count {
            let length = Int(Self.le32(bytes, i + 8))
            guard i + 16 + length <= bytes.count else { break }
            out.append(Record(header: Array(bytes[i..<(i + 16)]), frame: Array(bytes[(i + 16)..<(i + 16 + length)])))
            i += 16 + length
        }
        records = out
    }

    public func write(to path: String) -> Bool {
        var out = fileHeader
        for r in records { out += r.header + r.frame }
        return FileManager.default.createFile(atPath: path, contents: Data(out))
    }

    public func removing(_ index: Int) -> PcapRecords {
        var copy = self
        copy.records.remove(at: index)
        return copy
    }

    /// Every frame cut to `snapLength` bytes, as `tcpdump -s` would have kept it.
    public func cut(snapLength: Int) -> PcapRecords {
        var copy = self
        for i in copy.records.indices where copy.records[i].frame.count > snapLength {
            copy.records[i].frame.removeLast(copy.records[i].frame.count - snapLength)
            let kept = UInt32(snapLength)
            for k in 0..<4 { copy.records[i].header[8 + k] = UInt8(truncatingIfNeeded: kept >> (8 * UInt32(k))) }
        }
        return copy
    }

    /// The TCP ports and payload length of an Ethernet frame carrying IPv4 or IPv6 (the link
    /// of the loopback recordings), nil for anything else.
    public func tcp(_ index: Int) -> (source: UInt16, destination: UInt16, payload: Int)? {
        let f = records[index].frame
        guard f.count >= 14 else { return nil }
        let etherType = Int(f[12]) << 8 | Int(f[13])
        let ipLength: Int, tcpStart: Int
        switch etherType {
        case 0x0800:
            guard f.count >= 34, f[23] == 6 else { return nil }
            let ihl = Int(f[14] & 0x0F) * 4
            ipLength = (Int(f[16]) << 8 | Int(f[17])) - ihl
            tcpStart = 14 + ihl
        case 0x86DD:
            guard f.count >= 54, f[20] == 6 else { return nil }
            ipLength = Int(f[18]) << 8 | Int(f[19])
            tcpStart = 54
        default:
            return nil
        }
        guard f.count >= tcpStart + 20 else { return nil }
        let source = UInt16(f[tcpStart]) << 8 | UInt16(f[tcpStart + 1])
        let destination = UInt16(f[tcpStart + 2]) << 8 | UInt16(f[tcpStart + 3])
        return (source, destination, ipLength - Int(f[tcpStart + 12] >> 4) * 4)
    }

    private static func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
}
