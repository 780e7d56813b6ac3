#if canImport(Glibc)
import Glibc
#endif

/// Reads pcapng files whose interfaces differ in link type or snap length, which libpcap's API
/// cannot (one `pcap_datalink` per file: it stops with "an interface has a type … different
/// from the type of the first interface"). Wireshark writes such files for `-i eth0 -i tun0`,
/// mergecap for captures of different snap lengths. Each packet carries its interface's link
/// type, which the decoder then uses instead of the file's.
///
/// Only what a packet needs is read: section headers (byte order), interface descriptions
/// (link type, `if_tsresol`, `if_tsoffset`) and enhanced, simple and obsolete packet blocks;
/// every other block is skipped by its length.
final class PcapngReader {
    enum Failure: Error {
        case truncated(String)
        case corrupt(String)
    }

    private struct Interface {
        var linkType: LinkType
        /// Timestamp units: 10^-`decimal` s, or 2^-`binary` s when `binary` is set.
        var decimal: Int = 6
        var binary: Int?
        var offsetSeconds: Int64 = 0
    }

    private let file: UnsafeMutablePointer<FILE>
    private var bigEndian = false
    private var interfaces: [Interface] = []
    /// The block being read (its body, without type and lengths), in storage of our own so
    /// that a packet's bytes stay valid until the next read, as libpcap's do.
    private var storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    private var block = UnsafeRawBufferPointer(start: nil, count: 0)
    /// The timestamp of the last packet, for simple packet blocks, which carry none.
    private var lastTimestamp = Timestamp.zero
    /// Longest block accepted: a length past it is a corrupt file, not a packet to allocate for.
    static let maxBlockLength = 64 << 20

    /// Reads from `file`, which it then owns and closes.
    init(file: UnsafeMutablePointer<FILE>) {
        self.file = file
    }

    deinit {
        fclose(file)
        storage.deallocate()
    }

    /// Room for a body of `length` bytes, grown when needed.
    private func reserve(_ length: Int) {
        if length > storage.count {
            storage.deallocate()
            storage = .allocate(byteCount: max(length, storage.count * 2), alignment: 16)
        }
        block = UnsafeRawBufferPointer(rebasing: storage[0..<length])
    }

    var offset: Int64 { Int64(ftell(file)) }

    /// The next packet, nil at the end of the file. The bytes are valid until the next call.
    func next() throws(Failure) -> RawPacket? {
        while true {
            guard let type = try readBlock() else { return nil }
            switch type {
            case 0x0A0D_0D0A: interfaces.removeAll()  // a new section describes its own interfaces
            case 1: try interface()
            case 6, 3, 2: return try packet(type)
            default: continue
            }
        }
    }

    /// The TLS key log the file carries before its first packet, in Decryption Secrets Blocks
    /// (what `editcap --inject-secrets tls,KEYLOG` and Wireshark write, so that a capture shared
    /// is readable without its key log beside it); empty when it has none.
    func leadingTLSSecrets(within limit: Int = 16 << 20) throws(Failure) -> [UInt8] {
        var secrets: [UInt8] = []
        var read = 0
        while read < limit, let type = try readBlock() {
            read += block.count + 12
            switch type {
            case 6, 3, 2: return secrets
            case 10 where block.count >= 8 && word(block, 0) == 0x544C_534B:  // "TLSK"
                let length = Int(word(block, 4))
                guard 8 + length <= block.count else { throw .corrupt("decryption secrets past their block") }
                secrets += block[8..<(8 + length)]
                if secrets.last != 0x0A { secrets.append(0x0A) }
            default: continue
            }
        }
        return secrets
    }

    // MARK: Blocks

    /// Reads a whole block into `block` (its body, without type and lengths); its type, or nil
    /// at a clean end of file.
    private func readBlock() throws(Failure) -> UInt32? {
        var head = [UInt8](repeating: 0, count: 8)
        let got = fread(&head, 1, 8, file)
        if got == 0 { return nil }
        guard got == 8 else { throw .truncated("a block header cut short") }
        var type = word(head, 0)
        if type == 0x0A0D_0D0A {
            // The byte-order magic follows the length: read it first to read the length right.
            var magic = [UInt8](repeating: 0, count: 4)
            guard fread(&magic, 1, 4, file) == 4 else { throw .truncated("a section header cut short") }
            switch (magic[0], magic[1], magic[2], magic[3]) {
            case (0x1A, 0x2B, 0x3C, 0x4D): bigEndian = true
            case (0x4D, 0x3C, 0x2B, 0x1A): bigEndian = false
            default: throw .corrupt("bad byte-order magic in a section header")
            }
            let length = Int(word(head, 4))
            guard length >= 28, length % 4 == 0, length <= Self.maxBlockLength else { throw .corrupt("bad section header length \(length)") }
            reserve(length - 12)
            storage.copyBytes(from: magic)
            guard fread(storage.baseAddress! + 4, 1, length - 16, file) == length - 16 else { throw .truncated("a section header cut short") }
            try trailer(length)
            return type
        }
        type = word(head, 0)
        let length = Int(word(head, 4))
        guard length >= 12, length % 4 == 0, length <= Self.maxBlockLength else { throw .corrupt("bad block length \(length)") }
        reserve(length - 12)
        if length > 12 {
            guard fread(storage.baseAddress!, 1, length - 12, file) == length - 12 else { throw .truncated("a block cut short") }
        }
        try trailer(length)
        return type
    }

    private func trailer(_ length: Int) throws(Failure) {
        var tail = [UInt8](repeating: 0, count: 4)
        guard fread(&tail, 1, 4, file) == 4 else { throw .truncated("a block cut short") }
        guard Int(word(tail, 0)) == length else { throw .corrupt("block lengths disagree") }
    }

    private func interface() throws(Failure) {
        guard block.count >= 8 else { throw .corrupt("interface description too short") }
        var i = Interface(linkType: LinkType(dlt: Int32(half(block, 0))))
        var at = 8
        while at + 4 <= block.count {
            let code = half(block, at), length = Int(half(block, at + 2))
            if code == 0 { break }
            guard at + 4 + length <= block.count else { throw .corrupt("interface option past its block") }
            if code == 9, length >= 1 {
                let v = Int(block[at + 4])
                if v & 0x80 != 0 { i.binary = v & 0x7F } else { i.decimal = v }
            } else if code == 14, length >= 8 {
                let first = UInt64(word(block, at + 4)), second = UInt64(word(block, at + 8))
                i.offsetSeconds = Int64(bitPattern: bigEndian ? first << 32 | second : second << 32 | first)
            }
            at += 4 + (length + 3) & ~3
        }
        guard (i.binary ?? 0) <= 63, i.decimal <= 18 else { throw .corrupt("timestamp resolution out of range") }
        interfaces.append(i)
    }

    private func packet(_ type: UInt32) throws(Failure) -> RawPacket {
        let id: Int, caplen: Int, wire: Int, start: Int
        var ts = lastTimestamp
        switch type {
        case 6:
            guard block.count >= 20 else { throw .corrupt("enhanced packet block too short") }
            id = Int(word(block, 0)); caplen = Int(word(block, 12)); wire = Int(word(block, 16)); start = 20
            guard id < interfaces.count else { throw .corrupt("packet of interface \(id), which was never described") }
            ts = timestamp(UInt64(word(block, 4)) << 32 | UInt64(word(block, 8)), interfaces[id])
        case 2:
            guard block.count >= 20 else { throw .corrupt("packet block too short") }
            id = Int(half(block, 0)); caplen = Int(word(block, 12)); wire = Int(word(block, 16)); start = 20
            guard id < interfaces.count else { throw .corrupt("packet of interface \(id), which was never described") }
            ts = timestamp(UInt64(word(block, 4)) << 32 | UInt64(word(block, 8)), interfaces[id])
        default:  // simple packet block: interface 0, no timestamp, captured length from the block
            guard block.count >= 4 else { throw .corrupt("simple packet block too short") }
            id = 0; wire = Int(word(block, 0)); caplen = min(wire, block.count - 4); start = 4
            guard !interfaces.isEmpty else { throw .corrupt("simple packet before any interface") }
        }
        guard start + caplen <= block.count else { throw .corrupt("packet data past its block") }
        lastTimestamp = ts
        // The block's storage lives until the next read: the bytes are valid as long as a
        // packet from libpcap would be.
        let frame = UnsafeRawBufferPointer(rebasing: block[start..<(start + caplen)])
        return RawPacket(timestamp: ts, wireLength: wire, bytes: frame, linkType: interfaces[id].linkType)
    }

    /// Nanoseconds since 1970 from a count of the interface's units (unsigned, as libpcap reads
    /// them), saturating far outside any capture's range.
    private func timestamp(_ units: UInt64, _ i: Interface) -> Timestamp {
        let seconds: UInt64, nanos: UInt64
        if let b = i.binary {
            seconds = units >> UInt64(b)
            let rest = units & ((1 << UInt64(b)) &- 1)
            let product = rest.multipliedFullWidth(by: 1_000_000_000)
            nanos = b == 0 ? 0 : product.high << (64 - UInt64(b)) | product.low >> UInt64(b)
        } else {
            let scale = Self.power(i.decimal)
            seconds = units / scale
            let rest = units % scale
            nanos = i.decimal <= 9 ? rest * Self.power(9 - i.decimal) : rest / Self.power(i.decimal - 9)
        }
        let whole = Int64(bitPattern: min(seconds, UInt64(Int64.max))).addingReportingOverflow(i.offsetSeconds).partialValue
        return Timestamp(seconds: whole, nanoseconds: Int64(nanos))
    }

    private static func power(_ n: Int) -> UInt64 {
        var p: UInt64 = 1
        for _ in 0..<n { p *= 10 }
        return p
    }

    private func word(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        let v = UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
        return bigEndian ? v.byteSwapped : v
    }

    private func word(_ b: [UInt8], _ i: Int) -> UInt32 { b.withUnsafeBytes { word($0, i) } }

    private func half(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt16 {
        let v = UInt16(b[i]) | UInt16(b[i + 1]) << 8
        return bigEndian ? v.byteSwapped : v
    }
}
