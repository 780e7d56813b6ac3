/// A minimal JSON emitter on bytes: keys in the order written (the schema is read by people
/// too), strings escaped per RFC 8259, invalid UTF-8 replaced by U+FFFD, no Foundation.
///
/// This is the hot path of `analyze --format jsonl` on control-heavy captures, so text that
/// needs no escaping (almost all of it) is copied in one piece, and numbers are written as
/// digits without building strings.
struct JSONWriter {
    var out: [UInt8] = []
    private var needsComma = false

    init() { out.reserveCapacity(768) }

    mutating func beginObject() { separator(); out.append(0x7B); needsComma = false }
    mutating func endObject() { out.append(0x7D); needsComma = true }
    mutating func beginArray() { separator(); out.append(0x5B); needsComma = false }
    mutating func endArray() { out.append(0x5D); needsComma = true }

    /// Keys are literals of the schema: copied as they are.
    mutating func key(_ k: StaticString) {
        separator()
        out.append(0x22)
        k.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(0x22); out.append(0x3A)
        needsComma = false
    }

    /// A key that comes from data (counts by name, by code).
    mutating func dynamicKey(_ k: String) {
        separator()
        appendString(k)
        out.append(0x3A)
        needsComma = false
    }

    mutating func null() { separator(); out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }
    mutating func bool(_ b: Bool) {
        separator()
        if b { out.append(contentsOf: [0x74, 0x72, 0x75, 0x65]) } else { out.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65]) }
    }
    mutating func int(_ v: Int) { separator(); appendDigits(v) }
    mutating func int(_ v: Int?) { if let v { int(v) } else { null() } }

    mutating func double(_ v: Double, decimals: Int = 3) {
        separator()
        guard v.isFinite, abs(v) < 9e15 else { out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]); return }
        var scale = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int((abs(v) * Double(scale)).rounded())
        if v < 0 && scaled != 0 { out.append(0x2D) }
        appendDigits(scaled / scale)
        if decimals > 0 { out.append(0x2E); appendDigits(scaled % scale, width: decimals) }
    }

    /// A timestamp as seconds with 6 decimals, or 9 when the capture has nanoseconds.
    mutating func timestamp(_ ns: Int64) {
        separator()
        let secs = Int(ns / 1_000_000_000), frac = Int(ns % 1_000_000_000)
        appendDigits(secs)
        out.append(0x2E)
        if frac % 1000 == 0 { appendDigits(frac / 1000, width: 6) } else { appendDigits(frac, width: 9) }
    }

    mutating func string(_ s: String) { separator(); appendString(s) }
    mutating func string(_ s: String?) { if let s { string(s) } else { null() } }
    mutating func string(_ s: StaticString) {
        separator(); out.append(0x22); s.withUTF8Buffer { out.append(contentsOf: $0) }; out.append(0x22)
    }

    /// Wire bytes: decoded as UTF-8 with U+FFFD for anything invalid.
    mutating func bytes(_ b: [UInt8]) {
        separator()
        let plain = b.withUnsafeBufferPointer { Self.isPlainASCII($0) }
        if plain {
            out.append(0x22); out.append(contentsOf: b); out.append(0x22)
        } else {
            appendString(String(decoding: b, as: UTF8.self))
        }
    }
    mutating func bytes(_ b: [UInt8]?) { if let b { bytes(b) } else { null() } }

    private mutating func separator() {
        if needsComma { out.append(0x2C) }
        needsComma = true
    }

    private mutating func appendString(_ s: String) {
        var s = s
        s.withUTF8 { buffer in
            out.append(0x22)
            if Self.needsNoEscape(buffer) { out.append(contentsOf: buffer) } else { appendEscaped(buffer) }
            out.append(0x22)
        }
    }

    private static func isPlainASCII(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        for c in b where c < 0x20 || c >= 0x7F || c == 0x22 || c == 0x5C { return false }
        return true
    }

    /// Valid UTF-8 (a Swift String) needs escaping only for controls, quote and backslash.
    private static func needsNoEscape(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        for c in b where c < 0x20 || c == 0x7F || c == 0x22 || c == 0x5C { return false }
        return true
    }

    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        let hex: StaticString = "0123456789abcdef"
        for b in utf8 {
            switch b {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0D: out.append(0x5C); out.append(0x72)
            case 0x09: out.append(0x5C); out.append(0x74)
            case 0..<0x20, 0x7F:
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30])
                hex.withUTF8Buffer { h in out.append(h[Int(b >> 4)]); out.append(h[Int(b & 0xF)]) }
            default: out.append(b)
            }
        }
    }

    private mutating func appendDigits(_ value: Int, width: Int = 0) {
        var v = value
        if v < 0 { out.append(0x2D); v = -v }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch on the stack
        let n = withUnsafeMutableBytes(of: &tmp) { buf -> Int in
            var i = buf.count
            repeat { i -= 1; buf[i] = UInt8(48 + v % 10); v /= 10 } while v > 0
            while buf.count - i < width { i -= 1; buf[i] = 0x30 }
            out.append(contentsOf: buf[i...])
            return buf.count - i
        }
        _ = n
    }
}

func pad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

/// Fixed-point formatting without Foundation's locale-dependent formatters.
func fixed(_ v: Double, _ decimals: Int) -> String {
    var w = JSONWriter()
    w.double(v, decimals: decimals)
    return String(decoding: w.out, as: UTF8.self)
}
