/// Turns wire bytes into text that is safe to write to a terminal: invalid UTF-8 becomes
/// U+FFFD, and every control character (C0, DEL, C1 — ESC and CSI among them) is shown as an
/// escape such as `\x1b`, so a hostile server cannot drive the user's terminal.
public enum TerminalText {
    public static func escape(_ bytes: [UInt8]) -> String {
        escape(String(decoding: bytes, as: UTF8.self))
    }

    public static func escape(_ text: String) -> String {
        // Nearly every reply line is plain ASCII and comes back unchanged: checked on its bytes,
        // without building a copy scalar by scalar (text and HTML output spent most of their
        // time here).
        if PlainText.isPrintableASCII(text, except: PlainText.isBackslash) { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x09: out += "\\t"
            case 0x5C: out += "\\\\"
            case 0..<0x20, 0x7F: out += "\\x" + hex2(scalar.value)
            case 0x80...0x9F: out += "\\u{" + hex2(scalar.value) + "}"
            case 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069:
                // Line separators and bidi overrides can disguise what a line says.
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func hex2(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return s.count < 2 ? "0" + s : s
    }
}

/// UTC calendar text for capture timestamps, without Foundation's formatters.
public enum UTCTime {
    public static func format(_ ns: Int64, date: Bool = true) -> String {
        var out: [UInt8] = []
        write(ns, date: date, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `YYYY-MM-DD hh:mm:ss.uuuuuu`, or the time alone, appended as bytes.
    static func write(_ ns: Int64, date: Bool = true, to out: inout [UInt8]) {
        let secs = ns >= 0 ? ns / 1_000_000_000 : (ns - 999_999_999) / 1_000_000_000
        let micros = Int((ns - secs * 1_000_000_000) / 1000)
        let days = Int(secs >= 0 ? secs / 86400 : (secs - 86399) / 86400)
        let rem = Int(secs - Int64(days) * 86400)
        let (y, m, d) = civil(fromDays: days)
        guard (0...9999).contains(y) else {
            if date {
                digits(y, 4, &out); out.append(0x2D); digits(m, 2, &out); out.append(0x2D); digits(d, 2, &out)
                out.append(0x20)
            }
            digits(rem / 3600, 2, &out); out.append(0x3A)
            digits(rem / 60 % 60, 2, &out); out.append(0x3A)
            digits(rem % 60, 2, &out); out.append(0x2E)
            digits(micros, 6, &out)
            return
        }
        // Every capture time has a four-digit year (they are clamped to 1823-2116): the text
        // is built in place and appended once, one append per record instead of a dozen.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 26) { buf in
            var i = 0
            func put(_ v: Int, _ width: Int, then separator: UInt8?) {
                var x = v
                for k in stride(from: i + width - 1, through: i, by: -1) { buf[k] = UInt8(48 + x % 10); x /= 10 }
                i += width
                if let separator { buf[i] = separator; i += 1 }
            }
            if date { put(y, 4, then: 0x2D); put(m, 2, then: 0x2D); put(d, 2, then: 0x20) }
            put(rem / 3600, 2, then: 0x3A); put(rem / 60 % 60, 2, then: 0x3A); put(rem % 60, 2, then: 0x2E)
            put(micros, 6, then: nil)
            out.append(contentsOf: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buf[..<i])))
        }
    }

    /// `v` in at least `width` digits, zero-padded (as `pad`, which a negative year goes through).
    private static func digits(_ v: Int, _ width: Int, _ out: inout [UInt8]) {
        guard v >= 0 else { out.append(text: pad(v, width)); return }
        out.append(digits: v, width: width)
    }

    /// Howard Hinnant's days-to-civil algorithm.
    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
