/// Directory names as FTP servers give them (RFC 959 §4.1.3: PWD and MKD answer 257 with the
/// name in double quotes, a quote inside doubled) and file names resolved against them, so a
/// transfer can say which file it was (`/pub/hello.txt`) and not only what the client typed
/// (`hello.txt`), as Zeek's ftp.log does. Only Unix-style absolute names are resolved; a
/// server that names directories otherwise leaves them unknown.
public enum PathName {
    /// Longest name kept: a session holds its working directory for as long as it lasts.
    public static let maxLength = 4096

    /// The quoted name in a 257 reply's text: `"/pub" is the current directory` → `/pub`.
    public static func quoted(in text: [UInt8]) -> [UInt8]? {
        guard let open = text.firstIndex(of: 0x22) else { return nil }
        var name: [UInt8] = []
        var i = open + 1
        while i < text.count {
            if text[i] == 0x22 {
                // A doubled quote is a quote in the name; a single one ends it.
                guard i + 1 < text.count, text[i + 1] == 0x22 else { return name }
                name.append(0x22)
                i += 2
            } else {
                name.append(text[i])
                i += 1
            }
            if name.count > maxLength { return nil }
        }
        return nil  // no closing quote
    }

    /// `path` made absolute against `directory` (itself absolute) and normalised: `.` and
    /// empty segments dropped, `..` taken back (never above the root). Nil when neither is
    /// absolute or the result is too long.
    public static func resolve(_ path: [UInt8], against directory: [UInt8]?) -> [UInt8]? {
        let slash = UInt8(ascii: "/")
        let joined: [UInt8]
        if path.first == slash {
            joined = path
        } else if let directory, directory.first == slash {
            joined = directory + [slash] + path
        } else {
            return nil
        }
        guard joined.count <= maxLength * 2 else { return nil }
        var segments: [ArraySlice<UInt8>] = []
        for segment in joined.split(separator: slash, omittingEmptySubsequences: true) {
            if segment.elementsEqual([UInt8(ascii: ".")]) { continue }
            if segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) { _ = segments.popLast(); continue }
            segments.append(segment)
        }
        var out: [UInt8] = []
        for s in segments { out.append(slash); out.append(contentsOf: s) }
        if out.isEmpty { out = [slash] }
        return out.count <= maxLength ? out : nil
    }
}
