import NetworkAddress

/// Directory names as FTP servers give them (RFC 959 §4.1.3: PWD and MKD answer 257 with the
/// name in double quotes, a quote inside doubled) and file names resolved against them, so a
/// transfer can say which file it was (`/pub/hello.txt`) and not only what the client typed
/// (`hello.txt`), as Zeek's ftp.log does. Only Unix-style absolute names are resolved; a
/// server that names directories otherwise leaves them unknown. Each call allocates at most
/// the name it returns: sessions name their directory once or twice each.
public enum PathName {
    /// Longest name kept: a session holds its working directory for as long as it lasts.
    public static let maxLength = 4096
    private static let slash = UInt8(ascii: "/"), dot = UInt8(ascii: "."), quote = UInt8(ascii: "\"")
    /// One `/` for every session whose directory is the root.
    private static let root: [UInt8] = [UInt8(ascii: "/")]

    /// The quoted name in a 257 reply's text: `"/pub" is the current directory` → `/pub`.
    public static func quoted(in text: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let open = text.firstIndex(of: quote) else { return nil }
        let rest = UnsafeRawBufferPointer(rebasing: text[(open + 1)...])
        // Usually no quote inside: the name is copied in one piece, and the root (anonymous
        // and chrooted sessions) not at all.
        if let close = rest.firstIndex(of: quote), close + 1 == rest.count || rest[close + 1] != quote {
            if close == 1 && rest[0] == slash { return root }
            return close <= maxLength ? Array(bytes: UnsafeRawBufferPointer(rebasing: rest[..<close])) : nil
        }
        var name: [UInt8] = []
        var i = open + 1
        while i < text.count {
            if text[i] == quote {
                // A doubled quote is a quote in the name; a single one ends it.
                guard i + 1 < text.count, text[i + 1] == quote else { return name }
                name.append(quote)
                i += 2
            } else {
                name.append(text[i])
                i += 1
            }
            if name.count > maxLength { return nil }
        }
        return nil  // no closing quote
    }

    /// The working directory a reply to CWD, CDUP or a login names, where the server says
    /// it: quoted as in a 257 (pyftpdlib, FileZilla Server: `250 "/pub" is the current
    /// directory.`) or after "directory is" to the end of the line (pure-ftpd: `250 OK.
    /// Current directory is /pub`, `230 OK. Current restricted directory is /`). Only an
    /// absolute name counts; a reply that quotes anything else names no directory, so that
    /// the argument is resolved instead. A login's reply is read for the phrase alone
    /// (`quoted: false`): a 230 may quote the user, and a certificate's subject is a name
    /// beginning with a slash (`/C=US/O=Grid/CN=bob`).
    public static func statedDirectory(in text: UnsafeRawBufferPointer, quoted allowQuoted: Bool = true) -> [UInt8]? {
        // Most replies hold neither a quote nor a slash, and are done with in one word-wise pass.
        var at = 0
        while case let s = ByteScan.firstIndex(of: quote, or: slash, in: text, from: at, to: text.count), s < text.count {
            if text[s] == quote {
                if allowQuoted {
                    guard let name = quoted(in: UnsafeRawBufferPointer(rebasing: text[s...])), name.first == slash else { return nil }
                    return resolve(name, against: nil)
                }
            } else if follows(directoryIs, before: s, in: text) {
                var end = text.count
                while end > s && (text[end - 1] == 0x20 || text[end - 1] == 0x09) { end -= 1 }
                return resolve(Array(UnsafeRawBufferPointer(rebasing: text[s..<end])), against: nil)
            }
            at = s + 1
        }
        return nil
    }

    private static let directoryIs: StaticString = "directory is "

    /// Whether `phrase` (lowercase ASCII) ends just before `index` in `text`, letters compared
    /// without case.
    private static func follows(_ phrase: StaticString, before index: Int, in text: UnsafeRawBufferPointer) -> Bool {
        let n = phrase.utf8CodeUnitCount
        guard index >= n else { return false }
        let p = phrase.utf8Start
        for k in 0..<n {
            let b = text[index - n + k]
            if b != p[k] && (b | 0x20) != p[k] { return false }
        }
        return true
    }

    /// `path` made absolute against `directory` (itself absolute and normalised) and
    /// normalised: `.` and empty segments dropped, `..` taken back (never above the root).
    /// Nil when neither is absolute or the result is too long. An absolute name already in
    /// that form is returned as it is, without a copy.
    public static func resolve(_ path: [UInt8], against directory: [UInt8]?) -> [UInt8]? {
        var out: [UInt8]
        if path.first == slash {
            if isNormal(path) { return path.count <= maxLength ? path : nil }
            out = []
        } else if let directory, directory.first == slash {
            out = directory
            if out.count == 1 { out.removeAll(keepingCapacity: true) }  // the root: segments follow
        } else {
            return nil
        }
        out.reserveCapacity(out.count + path.count + 1)
        // `out` is a normalised absolute name without its trailing slash ("" for the root).
        var i = 0
        while i < path.count {
            while i < path.count && path[i] == slash { i += 1 }
            let start = i
            while i < path.count && path[i] != slash { i += 1 }
            let length = i - start
            if length == 0 || length == 1 && path[start] == dot { continue }
            if length == 2 && path[start] == dot && path[start + 1] == dot {
                out.removeSubrange((out.lastIndex(of: slash) ?? 0)...)
                continue
            }
            out.append(slash)
            out.append(contentsOf: path[start..<i])
            if out.count > maxLength { return nil }
        }
        if out.isEmpty { out.append(slash) }
        return out
    }

    /// Absolute, without empty, `.` or `..` segments and without a trailing slash (but `/`).
    private static func isNormal(_ p: [UInt8]) -> Bool {
        var segmentStart = 1
        for i in 1...p.count {
            guard i == p.count || p[i] == slash else { continue }
            let length = i - segmentStart
            if length == 0 { return p.count == 1 }
            if length == 1 && p[segmentStart] == dot { return false }
            if length == 2 && p[segmentStart] == dot && p[segmentStart + 1] == dot { return false }
            segmentStart = i + 1
        }
        return true
    }
}
