/// What a transfer carried, told by its first bytes as Zeek's file signatures tell it, with
/// Zeek's names, so that `mime_type` means the same in ftpscope's records and in ftp.log:
/// an executable uploaded over FTP is `application/x-dosexec` in both.
enum ContentType {
    /// Bytes of a transfer's start kept to tell its type: enough for a tar header's `ustar`
    /// at offset 257.
    static let sniffLength = 512

    /// The type of a stream starting with `head` (fewer bytes than `sniffLength` when the
    /// transfer was shorter); nil when nothing was seen.
    static func of(_ head: [UInt8]) -> String? {
        guard !head.isEmpty else { return nil }
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + magic.count && head[offset..<(offset + magic.count)].elementsEqual(magic)
        }
        func ascii(_ s: String) -> [UInt8] { Array(s.utf8) }

        if starts([0x7F, 0x45, 0x4C, 0x46]), head.count >= 18 { return elf(head) }
        if starts(ascii("MZ")) { return "application/x-dosexec" }
        if starts([0xCF, 0xFA, 0xED, 0xFE]) || starts([0xCE, 0xFA, 0xED, 0xFE]) { return "application/x-mach-o-executable" }
        if starts(ascii("%PDF-")) { return "application/pdf" }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x07, 0x08, 0x50, 0x4B, 0x03, 0x04]) { return "application/zip" }
        if starts([0x1F, 0x8B]) { return "application/x-gzip" }
        if starts(ascii("BZh")) { return "application/x-bzip2" }
        if starts([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return "application/x-xz" }
        if starts([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) { return "application/x-7z-compressed" }
        if starts(ascii("Rar!")) { return "application/x-rar" }
        if starts([0x28, 0xB5, 0x2F, 0xFD]) { return "application/zstd" }
        if starts(ascii("MSCF") + [0, 0, 0, 0]) { return "application/vnd.ms-cab-compressed" }
        if starts([0xED, 0xAB, 0xEE, 0xDB]) { return "application/x-rpm" }
        if starts(ascii("!<arch>\ndebian")) { return "application/x-debian-package" }
        if starts(ascii("ustar"), at: 257) { return "application/x-tar" }
        if starts([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) { return "application/vnd.ms-office" }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if starts([0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if starts(ascii("GIF87a")) || starts(ascii("GIF89a")) { return "image/gif" }
        if starts(ascii("BM")) && head.count >= 14 && head[6...9].allSatisfy({ $0 == 0 }) { return "image/bmp" }
        if starts(ascii("SQLite format 3\0")) { return "application/x-sqlite3" }
        return markup(head) ?? (isText(head) ? "text/plain" : "application/octet-stream")
    }

    /// ELF by its object type (`e_type`, in the file's byte order).
    private static func elf(_ h: [UInt8]) -> String {
        let type = h[5] == 2 ? UInt16(h[16]) << 8 | UInt16(h[17]) : UInt16(h[17]) << 8 | UInt16(h[16])
        switch type {
        case 1: return "application/x-object"
        case 3: return "application/x-sharedlib"
        case 4: return "application/x-coredump"
        default: return "application/x-executable"
        }
    }

    /// XML and HTML by their first tag, after white space.
    private static func markup(_ h: [UInt8]) -> String? {
        var i = 0
        if h.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < h.count, h[i] == 0x20 || h[i] == 0x09 || h[i] == 0x0D || h[i] == 0x0A { i += 1 }
        guard i < h.count, h[i] == UInt8(ascii: "<") else { return nil }
        let tag = String(decoding: h[i..<min(h.count, i + 15)], as: UTF8.self).lowercased()
        if tag.hasPrefix("<!doctype html") || tag.hasPrefix("<html") || tag.hasPrefix("<head") || tag.hasPrefix("<body") {
            return "text/html"
        }
        if tag.hasPrefix("<?xml ") {
            // An XHTML page declares itself XML first.
            let rest = String(decoding: h[i...], as: UTF8.self).lowercased()
            return rest.contains("<!doctype html") || rest.contains("<html") ? "text/html" : "application/xml"
        }
        return nil
    }

    /// Printable ASCII, white space and UTF-8 throughout (the last character may be cut).
    private static func isText(_ h: [UInt8]) -> Bool {
        var i = h.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while i < h.count {
            let b = h[i]
            if b >= 0x20 && b < 0x7F || b == 0x09 || b == 0x0A || b == 0x0C || b == 0x0D { i += 1; continue }
            let length = b & 0xE0 == 0xC0 ? 2 : b & 0xF0 == 0xE0 ? 3 : b & 0xF8 == 0xF0 ? 4 : 0
            guard length > 0, b >= 0xC2, b <= 0xF4 else { return false }
            for k in 1..<length where i + k < h.count {
                if h[i + k] & 0xC0 != 0x80 { return false }
            }
            i += length
        }
        return true
    }
}
