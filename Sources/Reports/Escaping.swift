/// Escapers for the report formats. Wire text is untrusted: each format gets exactly the
/// escaping its consumer needs, and characters a format forbids are replaced.
public enum Escape {
    /// XML 1.0 text and attribute values: markup escaped; characters outside the XML Char
    /// production (most C0 controls, U+FFFE, U+FFFF) replaced by U+FFFD.
    public static func xml(_ s: String) -> String {
        xml(s, apostrophe: "&apos;")
    }

    private static func xml(_ s: String, apostrophe: String) -> String {
        if PlainText.isPrintableASCII(s, except: isXMLMarkup) { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u.value {
            case 0x26: out += "&amp;"
            case 0x3C: out += "&lt;"
            case 0x3E: out += "&gt;"
            case 0x22: out += "&quot;"
            case 0x27: out += apostrophe
            case 0x09, 0x0A, 0x0D: out.unicodeScalars.append(u)
            case 0..<0x20, 0xFFFE, 0xFFFF: out += "\u{FFFD}"
            case 0x7F...0x9F: out += "\u{FFFD}"   // allowed by XML but never meant as text here
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// HTML text and attribute values; control characters shown as visible escapes.
    public static func html(_ s: String) -> String {
        // `&#39;` is HTML's apostrophe (`&apos;` is not HTML 4); chosen while escaping, since
        // replacing it afterwards built a string searcher per call.
        xml(TerminalText.escape(s), apostrophe: "&#39;")
    }

    private static func isXMLMarkup(_ b: UInt8) -> Bool {
        b == 0x26 || b == 0x3C || b == 0x3E || b == 0x22 || b == 0x27
    }

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
