/// Text output written as bytes into one growing buffer: the text formatter's replies and
/// the session grouper's blocks, without a string built per piece.
extension Array where Element == UInt8 {
    /// Text ftpscope wrote itself.
    @inline(__always)
    mutating func append(literal s: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func append(text s: String) {
        if s.utf8.withContiguousStorageIfAvailable({ append(contentsOf: $0) }) == nil { append(contentsOf: s.utf8) }
    }

    @inline(__always)
    mutating func append(contentsOf raw: UnsafeRawBufferPointer) {
        append(contentsOf: raw.assumingMemoryBound(to: UInt8.self))
    }

    /// Wire bytes as `TerminalText.escape` shows them: printable ASCII without a backslash is
    /// copied as it is, anything else goes through the escaper.
    mutating func appendTerminalSafe(_ wire: UnsafeRawBufferPointer) {
        if PlainText.isPrintableASCII(wire, except: PlainText.isBackslash) {
            append(contentsOf: wire)
        } else {
            append(text: TerminalText.escape(String(decoding: wire, as: UTF8.self)))
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
                append(contentsOf: repeatElement(0x20, count: width - s.count))
            }
            return
        }
        let characters = count - start - (leadingArrow ? 2 : 0)
        if characters > width {
            removeSubrange((start + width - 1 + (leadingArrow ? 2 : 0))...)
            append(literal: "…")
        } else {
            append(contentsOf: repeatElement(0x20, count: width - characters))
        }
    }
}
