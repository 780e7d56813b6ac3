import Foundation

/// The records of a classic little-endian pcap file, or the enhanced packet blocks of a
/// little-endian pcapng file, to write damaged copies of a real capture: a packet left out,
/// every packet cut to a snap length.
public struct PcapRecords {
    public struct Record {
        /// The 16-byte record header (time, captured length, length on the wire); for pcapng,
        /// the enhanced packet block's first 28 bytes (type, length, interface, time, lengths).
        public var header: [UInt8]
        public var frame: [UInt8]
        /// pcapng: the block's options, after the padded packet data.
        public var options: [UInt8] = []
        /// pcapng: the blocks before this packet that carry none (section and interface
        /// descriptions), kept as they are.
        public var blocksBefore: [[UInt8]] = []
    }

    public let fileHeader: [UInt8]
    public var records: [Record]
    public let isPcapng: Bool
    /// pcapng: blocks after the last packet (interface statistics).
    private var blocksAfter: [[UInt8]] = []
    /// pcapng: each interface's link type, in the order described.
    private var linkTypes: [UInt16] = []

    public init(contentsOf path: String) throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        if bytes.count >= 12, bytes[0..<4] == [0x0A, 0x0D, 0x0D, 0x0A] {
            precondition(bytes[8..<12] == [0x4D, 0x3C, 0x2B, 0x1A], "a little-endian pcapng")
            isPcapng = true
            fileHeader = []
            var out: [Record] = []
            var pending: [[UInt8]] = []
            var i = 0
            while i + 12 <= bytes.count {
                let type = Self.le32(bytes, i), length = Int(Self.le32(bytes, i + 4))
                guard length >= 12, i + length <= bytes.count else { break }
                let block = Array(bytes[i..<(i + length)])
                if type == 6 {
                    let caplen = Int(Self.le32(block, 20))
                    let padded = (caplen + 3) & ~3
                    out.append(Record(header: Array(block[0..<28]), frame: Array(block[28..<(28 + caplen)]),
                                      options: Array(block[(28 + padded)..<(length - 4)]), blocksBefore: pending))
                    pending = []
                } else {
                    if type == 1 { linkTypes.append(UInt16(block[8]) | UInt16(block[9]) << 8) }
                    pending.append(block)
                }
                i += length
            }
            records = out
            blocksAfter = pending
            return
        }
        isPcapng = false
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
        if isPcapng {
            for r in records {
                for b in r.blocksBefore { out += b }
                let padding = (4 - r.frame.count % 4) % 4
                let length = UInt32(28 + r.frame.count + padding + r.options.count + 4)
                var header = r.header
                Self.put(length, &header, 4)
                out += header + r.frame + [UInt8](repeating: 0, count: padding) + r.options
                out += withUnsafeBytes(of: length.littleEndian) { Array($0) }
            }
            for b in blocksAfter { out += b }
        } else {
            for r in records { out += r.header + r.frame }
        }
        return FileManager.default.createFile(atPath: path, contents: Data(out))
    }

    private static func put(_ v: UInt32, _ bytes: inout [UInt8], _ at: Int) {
        for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
    }

    public func removing(_ index: Int) -> PcapRecords {
        var copy = self
        let removed = copy.records.remove(at: index)
        // The interface descriptions before a packet stay, for the packets after it.
        if index < copy.records.count {
            copy.records[index].blocksBefore = removed.blocksBefore + copy.records[index].blocksBefore
        } else {
            copy.blocksAfter = removed.blocksBefore + copy.blocksAfter
        }
        return copy
    }

    /// The packets in runs of `count`, each a capture of its own, as `tcpdump -C` or `editcap -c`
    /// rotate one: a pcapng part starts with every section and interface description before it.
    public func parts(of count: Int) -> [PcapRecords] {
        precondition(count > 0)
        var parts: [PcapRecords] = []
        var descriptions: [[UInt8]] = []
        for start in stride(from: 0, to: records.count, by: count) {
            var part = self
            let run = records[start..<min(start + count, records.count)]
            part.records = Array(run)
            part.records[0].blocksBefore = descriptions + run.first!.blocksBefore
            descriptions += run.flatMap(\.blocksBefore)
            if start + count < records.count { part.blocksAfter = [] }
            parts.append(part)
        }
        return parts
    }

    /// Every frame cut to `snapLength` bytes, as `tcpdump -s` would have kept it.
    public func cut(snapLength: Int) -> PcapRecords {
        var copy = self
        for i in copy.records.indices where copy.records[i].frame.count > snapLength {
            copy.records[i].frame.removeLast(copy.records[i].frame.count - snapLength)
            Self.put(UInt32(snapLength), &copy.records[i].header, isPcapng ? 20 : 8)
        }
        return copy
    }

    /// The TCP ports and payload length of an Ethernet frame (the link of the loopback
    /// recordings), or a Linux cooked one on a pcapng interface that says so, carrying IPv4 or
    /// IPv6; nil for anything else.
    public func tcp(_ index: Int) -> (source: UInt16, destination: UInt16, payload: Int)? {
        guard let (tcpStart, ipLength) = tcpHeader(index) else { return nil }
        let f = records[index].frame
        let source = UInt16(f[tcpStart]) << 8 | UInt16(f[tcpStart + 1])
        let destination = UInt16(f[tcpStart + 2]) << 8 | UInt16(f[tcpStart + 3])
        return (source, destination, ipLength - Int(f[tcpStart + 12] >> 4) * 4)
    }

    /// Where a frame's TCP header starts, and the IP payload's length (header included).
    private func tcpHeader(_ index: Int) -> (start: Int, ipLength: Int)? {
        let f = records[index].frame
        var link = 14
        if isPcapng, linkTypes.indices.contains(Int(Self.le32(records[index].header, 8))),
           linkTypes[Int(Self.le32(records[index].header, 8))] == 113 {
            link = 16
        }
        guard f.count >= link else { return nil }
        let etherType = Int(f[link - 2]) << 8 | Int(f[link - 1])
        let ipLength: Int, tcpStart: Int
        switch etherType {
        case 0x0800:
            guard f.count >= link + 20, f[link + 9] == 6 else { return nil }
            let ihl = Int(f[link] & 0x0F) * 4
            ipLength = (Int(f[link + 2]) << 8 | Int(f[link + 3])) - ihl
            tcpStart = link + ihl
        case 0x86DD:
            guard f.count >= link + 40, f[link + 6] == 6 else { return nil }
            ipLength = Int(f[link + 4]) << 8 | Int(f[link + 5])
            tcpStart = link + 40
        default:
            return nil
        }
        guard f.count >= tcpStart + 20 else { return nil }
        return (tcpStart, ipLength)
    }

    /// The same packets with TCP port `from` (either end) turned into `to`: a recording moved
    /// to a port only detection finds. Checksums are left as they were (nothing here checks them).
    public func movingPort(_ from: UInt16, to: UInt16) -> PcapRecords {
        var copy = self
        for i in records.indices {
            guard let (start, _) = tcpHeader(i) else { continue }
            for at in [start, start + 2] where UInt16(records[i].frame[at]) << 8 | UInt16(records[i].frame[at + 1]) == from {
                copy.records[i].frame[at] = UInt8(to >> 8)
                copy.records[i].frame[at + 1] = UInt8(to & 0xFF)
            }
        }
        return copy
    }

    private static func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
}
