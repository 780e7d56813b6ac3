/// Escapers for the report formats. Wire text is untrusted: each format gets exactly the
/// escaping its consumer needs, and characters a format forbids are replaced.
public enum Escape {
    /// XML 1.0 text and attribute values: markup escaped; characters outside the XML Char
    /// production (most C0 controls, U+FFFE, U+FFFF), C1 controls, line separators and bidi
    /// overrides replaced by U+FFFD.
    public static func xml(_ s: String) -> String {
        xml(s, apostrophe: "&apos;")
    }

    private static func xml(_ s: String, apostrophe: StaticString) -> String {
        if PlainText.isPrintableASCII(s, except: isXMLMarkup) { return s }
        // On the UTF-8 bytes (a String's are valid): the scalars XML forbids or that are never
        // text here have fixed encodings, so nothing needs decoding. Report names mix arrows
        // and line breaks into most values, and scalar-by-scalar appends were a fifth of a
        // JUnit report's time.
        var s = s
        return s.withUTF8 { src in
            var out: [UInt8] = []
            out.reserveCapacity(src.count + 16)
            let n = src.count
            var i = 0
            while i < n {
                let b = src[i]
                switch b {
                case 0x26: out.append(literal: "&amp;")
                case 0x3C: out.append(literal: "&lt;")
                case 0x3E: out.append(literal: "&gt;")
                case 0x22: out.append(literal: "&quot;")
                case 0x27: out.append(literal: apostrophe)
                case 0x09, 0x0A, 0x0D: out.append(b)
                case 0..<0x20, 0x7F: out.append(literal: "\u{FFFD}")
                // U+0080–U+009F: allowed by XML but never meant as text here.
                case 0xC2 where i + 1 < n && src[i + 1] <= 0x9F:
                    out.append(literal: "\u{FFFD}")
                    i += 1
                // U+FFFE and U+FFFF are not XML characters.
                case 0xEF where i + 2 < n && src[i + 1] == 0xBF && src[i + 2] >= 0xBE:
                    out.append(literal: "\u{FFFD}")
                    i += 2
                // Line separators and bidi overrides (U+2028–U+202E, U+2066–U+2069) can make a
                // CI page show a reply other than what was sent, as the text and HTML outputs
                // guard against by escaping them.
                case 0xE2 where i + 2 < n && ((src[i + 1] == 0x80 && (0xA8...0xAE).contains(src[i + 2]))
                                              || (src[i + 1] == 0x81 && (0xA6...0xA9).contains(src[i + 2]))):
                    out.append(literal: "\u{FFFD}")
                    i += 2
                default: out.append(b)
                }
                i += 1
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// HTML text and attribute values; control characters shown as visible escapes.
    public static func html(_ s: String) -> String {
        // `&#39;` is HTML's apostrophe (`&apos;` is not HTML 4); chosen while escaping, since
        // replacing it afterwards built a string searcher per call.
        xml(TerminalText.escape(s), apostrophe: "&#39;")
    }

    static func isXMLMarkup(_ b: UInt8) -> Bool {
        b == 0x26 || b == 0x3C || b == 0x3E || b == 0x22 || b == 0x27
    }

    /// What HTML escaping changes in printable ASCII: markup, and the backslash the terminal
    /// escaper doubles.
    static func isHTMLSpecial(_ b: UInt8) -> Bool { isXMLMarkup(b) || PlainText.isBackslash(b) }

    /// A Markdown table cell: controls shown escaped, and the characters that would end the
    /// cell or start markup neutralised, so a reply cannot rewrite the job summary.
    public static func markdownCell(_ s: String) -> String {
        if PlainText.isPrintableASCII(s, except: isMarkdownSpecial) { return s }
        var out = ""
        for ch in TerminalText.escape(s) {
            switch ch {
            case "|": out += "\\|"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "`", "*", "_", "[", "]", "#", "!", "~": out += "\\" + String(ch)
            default: out.append(ch)
            }
        }
        return out
    }

    private static func isMarkdownSpecial(_ b: UInt8) -> Bool {
        switch b {
        case 0x5C, 0x7C, 0x3C, 0x3E, 0x60, 0x2A, 0x5F, 0x5B, 0x5D, 0x23, 0x21, 0x7E: true
        default: false
        }
    }
}

extension Array where Element == UInt8 {
    /// Wire bytes as XML text: what `Escape.xml` makes of them decoded.
    mutating func append(xml bytes: UnsafeRawBufferPointer) {
        append(bytes, escapedBy: Escape.xml, changing: Escape.isXMLMarkup)
    }

    /// Wire bytes as HTML text: what `Escape.html` makes of them decoded.
    mutating func append(html bytes: UnsafeRawBufferPointer) {
        append(bytes, escapedBy: Escape.html, changing: Escape.isHTMLSpecial)
    }
}
