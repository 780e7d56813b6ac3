/// A minimal JSON emitter on bytes: keys in the order written (the schema is read by people
/// too), strings escaped per RFC 8259, invalid UTF-8 replaced by U+FFFD, no Foundation.
struct JSONWriter {
    var out: [UInt8] = []
    private var needsComma: [Bool] = [false]

    init() { out.reserveCapacity(512) }

    mutating func beginObject() { separator(); out.append(0x7B); needsComma.append(false) }
    mutating func endObject() { out.append(0x7D); needsComma.removeLast() }
    mutating func beginArray() { separator(); out.append(0x5B); needsComma.append(false) }
    mutating func endArray() { out.append(0x5D); needsComma.removeLast() }

    mutating func key(_ k: StaticString) {
        separator()
        out.append(0x22)
        k.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(0x22); out.append(0x3A)
        needsComma[needsComma.count - 1] = false
    }

    mutating func key(_ k: String) {
        separator()
        appendEscaped(Array(k.utf8))
        out.append(0x3A)
        needsComma[needsComma.count - 1] = false
    }

    mutating func null() { separator(); out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }
    mutating func bool(_ b: Bool) { separator(); out.append(contentsOf: Array((b ? "true" : "false").utf8)) }
    mutating func int(_ v: Int) { separator(); out.append(contentsOf: Array(String(v).utf8)) }
    mutating func int(_ v: Int?) { if let v { int(v) } else { null() } }

    mutating func double(_ v: Double, decimals: Int = 3) {
        separator()
        guard v.isFinite else { out.append(contentsOf: Array("null".utf8)); return }
        out.append(contentsOf: Array(fixed(v, decimals).utf8))
    }

    /// A timestamp as seconds with 6 decimals, or 9 when the capture has nanoseconds.
    mutating func timestamp(_ ns: Int64) {
        separator()
        let secs = ns / 1_000_000_000, frac = ns % 1_000_000_000
        var s = String(secs) + "."
        if frac % 1000 == 0 { s += pad(Int(frac / 1000), 6) } else { s += pad(Int(frac), 9) }
        out.append(contentsOf: Array(s.utf8))
    }

    mutating func string(_ s: String) { separator(); appendEscaped(Array(s.utf8)) }
    mutating func string(_ s: String?) { if let s { string(s) } else { null() } }
    /// Wire bytes: decoded as UTF-8 with U+FFFD for anything invalid.
    mutating func bytes(_ b: [UInt8]) { separator(); appendEscaped(Array(String(decoding: b, as: UTF8.self).utf8)) }
    mutating func bytes(_ b: [UInt8]?) { if let b { bytes(b) } else { null() } }

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { out.append(0x2C) }
        needsComma[needsComma.count - 1] = true
    }

    private mutating func appendEscaped(_ utf8: [UInt8]) {
        out.append(0x22)
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for b in utf8 {
            switch b {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0D: out.append(0x5C); out.append(0x72)
            case 0x09: out.append(0x5C); out.append(0x74)
            case 0..<0x20, 0x7F:
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}

func pad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

/// Fixed-point formatting without Foundation's locale-dependent formatters.
func fixed(_ v: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let negative = v < 0
    let scaled = (abs(v) * scale).rounded()
    guard scaled < 9e18 else { return String(v) }
    let n = Int(scaled)
    let whole = n / Int(scale), frac = n % Int(scale)
    return (negative ? "-" : "") + String(whole) + (decimals > 0 ? "." + pad(frac, decimals) : "")
}
