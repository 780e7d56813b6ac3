import NetworkAddress

/// Writes into room a `JSONWriter` reserved beforehand for a bound the caller computed: each
/// write is a store and a pointer bump, with no capacity check and no reload of the writer's
/// position between writes (stores through a byte pointer may alias it, so a writer that
/// kept its position in memory read it back after every byte).
///
/// Every method writes at most what its documentation bounds; `JSONWriter.withRoom` checks
/// the total against the reservation.
struct RoomWriter {
    var p: UnsafeMutablePointer<UInt8>
    /// Where the room starts: `p - origin` is how much was written.
    let origin: UnsafeMutablePointer<UInt8>

    init(_ start: UnsafeMutablePointer<UInt8>) { p = start; origin = start }

    var written: Int { p - origin }

    @inline(__always)
    mutating func byte(_ b: UInt8) { p.pointee = b; p += 1 }

    /// Two words stored whole (16 bytes of room), the position advanced by `n` ≤ 16 of them:
    /// short cached text without a call to memmove.
    @inline(__always)
    mutating func words(_ a: UInt64, _ b: UInt64, advancingBy n: Int) {
        let dst = UnsafeMutableRawPointer(p)
        dst.storeBytes(of: a, as: UInt64.self)
        dst.storeBytes(of: b, toByteOffset: 8, as: UInt64.self)
        p += n
    }

    /// Exactly the literal's bytes.
    @inline(__always)
    mutating func literal(_ s: StaticString) {
        copy(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// Exactly `b.count` bytes.
    @inline(__always)
    mutating func copy(_ b: UnsafeRawBufferPointer) {
        let n = b.count
        guard n > 0, let src = b.baseAddress else { return }
        let dst = UnsafeMutableRawPointer(p)
        if n >= 8 && n <= 32 {
            // Words moved inline: most pieces are keys and short values, for which a call to
            // memmove and its size dispatch cost more than the copy.
            var i = 0
            while i + 8 < n {
                dst.storeBytes(of: src.loadUnaligned(fromByteOffset: i, as: UInt64.self), toByteOffset: i, as: UInt64.self)
                i += 8
            }
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self), toByteOffset: n - 8, as: UInt64.self)
        } else {
            dst.copyMemory(from: src, byteCount: n)
        }
        p += n
    }

    /// Text ftpscope produced itself (ids, endpoints, verbs), quoted: `b.count + 2` bytes.
    @inline(__always)
    mutating func trusted(_ b: UnsafeRawBufferPointer) {
        byte(0x22); copy(b); byte(0x22)
    }

    /// Wire text as a JSON string: at most `6 × b.count + 2` bytes (a control byte becomes
    /// six, an invalid UTF-8 byte the three of U+FFFD).
    @inline(__always)
    mutating func wire(_ b: UnsafeRawBufferPointer) {
        byte(0x22)
        let n = b.count
        if n >= 8, let src = b.baseAddress {
            // Copied a word at a time while checked, one pass instead of a scan and a copy; the
            // copy is only taken (the position advanced) if no word needed escaping, and the room
            // holds it either way.
            let dst = UnsafeMutableRawPointer(p)
            var i = 0, flagged: UInt64 = 0
            while i + 8 <= n {
                let w = src.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                dst.storeBytes(of: w, toByteOffset: i, as: UInt64.self)
                flagged |= ByteScan.notPlainJSON(UInt64(littleEndian: w))
                i += 8
            }
            if i < n {
                // The last word overlaps the one before it rather than finishing byte by byte.
                let w = src.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
                dst.storeBytes(of: w, toByteOffset: n - 8, as: UInt64.self)
                flagged |= ByteScan.notPlainJSON(UInt64(littleEndian: w))
            }
            if flagged == 0 { p += n } else { escapedWire(b) }
        } else if ByteScan.isPlainJSONText(b) {
            copy(b)
        } else {
            escapedWire(b)
        }
        byte(0x22)
    }

    private mutating func escapedWire(_ b: UnsafeRawBufferPointer) {
        if ByteScan.isASCII(b) {
            escaped(b.assumingMemoryBound(to: UInt8.self))
        } else {
            var s = String(decoding: b, as: UTF8.self)
            s.withUTF8 { escaped($0) }
        }
    }

    /// Valid UTF-8 with quote, backslash and controls escaped: at most six bytes per byte.
    mutating func escaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        guard let base = utf8.baseAddress else { return }
        let n = utf8.count
        var i = 0
        // Words with nothing to escape are copied whole: a `257 "/dir"` reply, which every PWD
        // and MKD gets, has two quotes among dozens of plain bytes.
        while i + 8 <= n {
            let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            if ByteScan.needsJSONEscape(UInt64(littleEndian: w)) == 0 {
                UnsafeMutableRawPointer(p).storeBytes(of: w, as: UInt64.self)
                p += 8
            } else {
                escapedBytes(UnsafeBufferPointer(start: base + i, count: 8))
            }
            i += 8
        }
        escapedBytes(UnsafeBufferPointer(start: base + i, count: n - i))
    }

    private mutating func escapedBytes(_ utf8: UnsafeBufferPointer<UInt8>) {
        let hex: StaticString = "0123456789abcdef"
        for b in utf8 {
            switch b {
            case 0x22: byte(0x5C); byte(0x22)
            case 0x5C: byte(0x5C); byte(0x5C)
            case 0x0A: byte(0x5C); byte(0x6E)
            case 0x0D: byte(0x5C); byte(0x72)
            case 0x09: byte(0x5C); byte(0x74)
            case 0..<0x20, 0x7F:
                literal("\\u00")
                byte(hex.utf8Start[Int(b >> 4)]); byte(hex.utf8Start[Int(b & 0xF)])
            default: byte(b)
            }
        }
    }

    /// A non-negative integer in decimal: at most 19 bytes.
    @inline(__always)
    mutating func digits(_ value: Int) {
        precondition(value >= 0)
        let pairs = Self.pairs.utf8Start
        if value < 10 { byte(UInt8(48 + value)); return }
        if value < 100 { p[0] = pairs[2 * value]; p[1] = pairs[2 * value + 1]; p += 2; return }
        var n = 3, t = value / 1000
        while t > 0 { n += 1; t /= 10 }
        fixedWidth(value, n)
    }

    /// `value` (0 ≤ value < 10^width) in exactly `width` digits.
    @inline(__always)
    mutating func fixedWidth(_ value: Int, _ width: Int) {
        let pairs = Self.pairs.utf8Start
        var v = value, i = width
        while i >= 2 {
            let r = v % 100
            v /= 100
            i -= 2
            p[i] = pairs[2 * r]; p[i + 1] = pairs[2 * r + 1]
        }
        if i == 1 { p[0] = UInt8(48 + v % 10) }
        p += width
    }

    /// A timestamp of 0 or later as seconds with 6 decimals, or 9 when it has nanoseconds:
    /// at most 30 bytes. The same digits as `JSONWriter.timestampValue`, without its cache.
    @inline(__always)
    mutating func timestamp(_ ns: Int64) {
        precondition(ns >= 0)
        digits(Int(ns / 1_000_000_000))
        byte(0x2E)
        let frac = Int(ns % 1_000_000_000)
        if frac % 1000 == 0 { fixedWidth(frac / 1000, 6) } else { fixedWidth(frac, 9) }
    }

    /// Milliseconds with three decimals, for 0 ≤ v < 10^12 (the caller checks): at most 17
    /// bytes. The same rounding and digits as `JSONWriter.double(_:decimals: 3)`.
    @inline(__always)
    mutating func milliseconds(_ v: Double) {
        let scaled = Int((v * 1000).rounded())
        digits(scaled / 1000)
        byte(0x2E)
        fixedWidth(scaled % 1000, 3)
    }

    static let pairs: StaticString =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
}

extension JSONWriter {
    /// Reserves `bound` bytes and lets `body` write up to that many without checks.
    @inline(__always)
    mutating func withRoom<R>(_ bound: Int, _ body: (inout RoomWriter) -> R) -> R {
        var room = RoomWriter(reserveRoom(bound))
        let result = body(&room)
        precondition(room.written <= bound, "record larger than the room reserved for it")
        advance(by: room.written)
        return result
    }
}
