/// Text output written as bytes into one growing buffer: the text formatter's replies and
/// the session grouper's blocks, without a string built per piece.
extension Array where Element == UInt8 {
    /// Text ftpscope wrote itself.
    @inline(__always)
    mutating func append(literal s: StaticString) {
        append(contentsOf: UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func append(text s: String) {
        if s.utf8.withContiguousStorageIfAvailable({ append(contentsOf: UnsafeRawBufferPointer($0)) }) == nil {
            append(contentsOf: s.utf8)
        }
    }

    /// Bytes copied in one piece into room the array adds: `append(contentsOf:)` with a
    /// buffer went through the generic sequence copy, a fifth of text output's instructions
    /// for the dozen short pieces of every record.
    @inline(__always)
    mutating func append(contentsOf raw: UnsafeRawBufferPointer) {
        let n = raw.count
        guard n > 0, let source = raw.baseAddress else { return }
        append(addingCapacity: n) { span in
            span.withUnsafeMutableBufferPointer { room, initialized in
                UnsafeMutableRawPointer(room.baseAddress! + initialized).copyMemory(from: source, byteCount: n)
                initialized += n
            }
        }
    }

    /// `count` spaces, from a literal rather than an element repeated one at a time.
    mutating func append(spaces count: Int) {
        let spaces: StaticString = "                                "
        var n = count
        while n > 0 {
            let k = Swift.min(n, spaces.utf8CodeUnitCount)
            append(contentsOf: UnsafeRawBufferPointer(start: spaces.utf8Start, count: k))
            n -= k
        }
    }

    /// `v` rounded to `decimals` places, as `fixed` writes it, without building a string.
    mutating func append(fixed v: Double, decimals: Int) {
        guard let f = FixedPoint(v, decimals: decimals) else { append(literal: "null"); return }
        if f.negative { append(0x2D) }
        append(digits: f.whole, width: 1)
        if decimals > 0 { append(0x2E); append(digits: f.fraction, width: decimals) }
    }

    /// A non-negative `v` in at least `width` digits, zero-padded.
    mutating func append(digits v: Int, width: Int) {
        precondition(v >= 0)
        var n = 1, t = v
        while t >= 10 { t /= 10; n += 1 }
        let total = Swift.max(n, width)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var x = v
            for i in stride(from: total - 1, through: 0, by: -1) { buf[i] = UInt8(48 + x % 10); x /= 10 }
            append(contentsOf: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buf[..<total])))
        }
    }

    /// Wire bytes as `TerminalText.escape` shows them: printable ASCII without a backslash is
    /// copied as it is, anything else goes through the escaper.
    mutating func appendTerminalSafe(_ wire: UnsafeRawBufferPointer) {
        append(wire, escapedBy: TerminalText.escape, changing: PlainText.isBackslash)
    }

    /// Wire bytes as `escape` makes them of their decoded text (invalid UTF-8 repaired),
    /// copied as they are when they are printable ASCII with no byte `escape` changes, as
    /// nearly every reply line is: decoding each line into a string was most of the cost.
    @inline(__always)
    mutating func append(_ wire: UnsafeRawBufferPointer, escapedBy escape: (String) -> String,
                         changing special: (UInt8) -> Bool) {
        if PlainText.isPrintableASCII(wire, except: special) {
            append(contentsOf: wire)
        } else {
            append(text: escape(String(decoding: wire, as: UTF8.self)))
        }
    }

    /// Pads or cuts what was appended since `start` to `width` characters, so rows line up
    /// (cut text ends in `…`). `leadingArrow`: the text begins with `← `, three bytes for one
    /// character. Plain ASCII is measured by its bytes; anything else by the string's
    /// characters, as a terminal (mostly) shows them.
    mutating func padColumn(from start: Int, width: Int, leadingArrow: Bool = false) {
        let skip = leadingArrow ? 3 : 0
        var ascii = true
        for i in (start + skip)..<count where self[i] >= 0x80 { ascii = false; break }
        guard ascii else {
            let s = String(decoding: self[start...], as: UTF8.self)
            removeSubrange(start...)
            if s.count > width {
                append(text: String(s.prefix(width - 1)))
                append(literal: "…")
            } else {
                append(text: s)
                append(spaces: width - s.count)
            }
            return
        }
        let characters = count - start - (leadingArrow ? 2 : 0)
        if characters > width {
            removeSubrange((start + width - 1 + (leadingArrow ? 2 : 0))...)
            append(literal: "…")
        } else {
            append(spaces: width - characters)
        }
    }
}
