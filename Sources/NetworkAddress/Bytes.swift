extension Array where Element == UInt8 {
    /// Appends raw bytes with one copy. `append(contentsOf:)` with an `UnsafeRawBufferPointer`
    /// takes the generic element-by-element path (a raw buffer offers no typed contiguous
    /// storage); profiles showed it at ~200 instructions per call for a few bytes.
    @inlinable
    public mutating func append(bytes raw: UnsafeRawBufferPointer) {
        guard let base = raw.baseAddress, raw.count > 0 else { return }
        append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: raw.count))
    }
}

extension Array where Element == UInt8 {
    /// A copy of raw bytes in one piece (see `append(bytes:)`).
    @inlinable
    public init(bytes raw: UnsafeRawBufferPointer) {
        guard let base = raw.baseAddress, raw.count > 0 else { self = []; return }
        self.init(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: raw.count))
    }
}

/// Byte scans eight bytes at a time (SWAR: bit tricks on a 64-bit word), for the two loops
/// that look at every byte of the control text: line framing and JSON escaping checks.
public enum ByteScan {
    @usableFromInline static let ones: UInt64 = 0x0101_0101_0101_0101
    @usableFromInline static let highs: UInt64 = 0x8080_8080_8080_8080

    /// High bit set in each byte of the result where that byte of `x` is zero (exact for the
    /// lowest such byte, which is all the callers use to stop; any set bit means "some").
    @inlinable @inline(__always)
    static func zeroBytes(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }

    @inlinable @inline(__always)
    static func load(_ p: UnsafeRawPointer) -> UInt64 { UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)) }

    /// Index of the first byte equal to `a` or `b` at or after `from`, or `end`.
    @inlinable
    public static func firstIndex(of a: UInt8, or b: UInt8, in bytes: UnsafeRawBufferPointer, from: Int, to end: Int) -> Int {
        guard let base = bytes.baseAddress else { return end }
        var i = from
        let pa = ones &* UInt64(a), pb = ones &* UInt64(b)
        while i + 8 <= end {
            let w = load(base + i)
            let hits = zeroBytes(w ^ pa) | zeroBytes(w ^ pb)
            if hits != 0 { return i + hits.trailingZeroBitCount / 8 }
            i += 8
        }
        while i < end, bytes[i] != a, bytes[i] != b { i += 1 }
        return i
    }

    /// Whether every byte is below 0x80.
    @inlinable
    public static func isASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let n = bytes.count
        var i = 0, high: UInt64 = 0
        while i + 8 <= n { high |= load(base + i); i += 8 }
        while i < n { high |= UInt64(bytes[i]); i += 1 }
        return high & highs == 0
    }

    /// Nonzero when some byte of `w` is not printable ASCII, or is `"` or `\`.
    @inlinable @inline(__always)
    public static func notPlainJSON(_ w: UInt64) -> UInt64 {
        needsJSONEscape(w) | (w & highs)
    }

    /// Nonzero when some byte of `w` must be escaped in a JSON string as ftpscope writes it:
    /// a control byte, DEL, `"` or `\` (bytes of 0x80 and above pass, as valid UTF-8).
    @inlinable @inline(__always)
    public static func needsJSONEscape(_ w: UInt64) -> UInt64 {
        let quote = ones &* 0x22, backslash = ones &* 0x5C, del = ones &* 0x7F
        // Bytes below 0x20: subtracting 0x20 borrows into the high bit of bytes that had it
        // clear (a borrow into a higher byte needs a control byte below it, so the word is
        // flagged either way).
        let control = (w &- ones &* 0x20) & ~w & highs
        return control | zeroBytes(w ^ quote) | zeroBytes(w ^ backslash) | zeroBytes(w ^ del)
    }

    /// Whether every byte is printable ASCII other than `"` and `\`: text that goes into a
    /// JSON string as it is.
    @inlinable
    public static func isPlainJSONText(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let n = bytes.count
        var i = 0
        @inline(__always) func plain(_ w: UInt64) -> Bool { notPlainJSON(w) == 0 }
        while i + 8 <= n {
            if !plain(load(base + i)) { return false }
            i += 8
        }
        // The tail as the last whole word, overlapping bytes already checked.
        if i < n && n >= 8 { return plain(load(base + n - 8)) }
        while i < n {
            let c = bytes[i]
            if c < 0x20 || c >= 0x7F || c == 0x22 || c == 0x5C { return false }
            i += 1
        }
        return true
    }
}

/// MurmurHash3's 64-bit finaliser: a bijection that spreads every input bit over the word.
/// What the flow table and the split between analyzers hash addresses with.
@inlinable @inline(__always)
public func murmurMix(_ x: UInt64) -> UInt64 {
    var k = x
    k ^= k >> 33; k &*= 0xff51afd7ed558ccd
    k ^= k >> 33; k &*= 0xc4ceb9fe1a85ec53
    k ^= k >> 33
    return k
}
