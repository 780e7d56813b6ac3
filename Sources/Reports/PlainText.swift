/// The test every escaper makes first: text of printable ASCII without any byte the format
/// treats specially needs no escaping at all.
enum PlainText {
    /// True when every byte is in 0x20–0x7E and `special` is false for each.
    @inline(__always)
    static func isPrintableASCII(_ bytes: UnsafeRawBufferPointer, except special: (UInt8) -> Bool) -> Bool {
        for b in bytes where b < 0x20 || b > 0x7E || special(b) { return false }
        return true
    }

    /// The same test on a string's UTF-8.
    @inline(__always)
    static func isPrintableASCII(_ text: String, except special: (UInt8) -> Bool) -> Bool {
        text.utf8.withContiguousStorageIfAvailable { isPrintableASCII(UnsafeRawBufferPointer($0), except: special) } ?? false
    }

    /// What the terminal escaper changes besides non-printable bytes.
    @inline(__always)
    static func isBackslash(_ b: UInt8) -> Bool { b == 0x5C }
}
