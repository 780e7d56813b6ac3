@testable import FTPSession
import Testing

/// Transfers told by their first bytes, with the names Zeek's ftp.log gives them.
@Suite struct ContentTypeTests {
    func type(_ bytes: [UInt8]) -> String? { ContentType.of(bytes) }
    func type(_ text: String) -> String? { ContentType.of(Array(text.utf8)) }

    @Test func signatures() {
        let padding = [UInt8](repeating: 0, count: 40)
        #expect(type([0x1F, 0x8B, 0x08, 0x00] + padding) == "application/x-gzip")
        #expect(type(Array("BZh91AY&SY".utf8) + padding) == "application/x-bzip2")
        #expect(type([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00] + padding) == "application/x-xz")
        #expect(type([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C] + padding) == "application/x-7z-compressed")
        #expect(type(Array("Rar!\u{1A}\u{07}\u{00}".utf8) + padding) == "application/x-rar")
        #expect(type([0x50, 0x4B, 0x03, 0x04, 0x14, 0x00] + padding) == "application/zip")
        #expect(type("%PDF-1.7\n%âãÏÓ\n") == "application/pdf")
        #expect(type([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + padding) == "image/png")
        #expect(type([0xFF, 0xD8, 0xFF, 0xE0] + padding) == "image/jpeg")
        #expect(type("GIF89a\u{01}\u{00}") == "image/gif")
        #expect(type(Array("MZ".utf8) + [0x90, 0x00] + padding) == "application/x-dosexec")
        #expect(type([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + padding) == "application/vnd.ms-office")
        var tar = [UInt8](repeating: 0, count: 512)
        tar.replaceSubrange(0..<10, with: Array("readme.txt".utf8))
        tar.replaceSubrange(257..<263, with: Array("ustar\u{0}".utf8))
        #expect(type(tar) == "application/x-tar")
        // Cut before its `ustar`, a tar header is only binary.
        #expect(type(Array(tar.prefix(200))) == "application/octet-stream")
    }

    /// ELF by its object type, in either byte order.
    @Test func elfObjectTypes() {
        func elf(little: Bool, type t: UInt8) -> [UInt8] {
            var h: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, little ? 1 : 2, 1] + [UInt8](repeating: 0, count: 57)
            if little { h[16] = t } else { h[17] = t }
            return h
        }
        for little in [true, false] {
            #expect(type(elf(little: little, type: 1)) == "application/x-object")
            #expect(type(elf(little: little, type: 2)) == "application/x-executable")
            #expect(type(elf(little: little, type: 3)) == "application/x-sharedlib")
            #expect(type(elf(little: little, type: 4)) == "application/x-coredump")
        }
    }

    @Test func textAndMarkup() {
        #expect(type("-rw-r--r--    1 0        0            27019 Nov 24 08:08 hello.txt\r\n") == "text/plain")
        #expect(type("Grüße aus Zürich, 你好\n") == "text/plain")
        // A character cut by the end of what was kept is still text.
        #expect(type(Array("naïve".utf8).dropLast(1).map { $0 } + [0xC3]) == "text/plain")
        #expect(type("\u{FEFF}byte order mark first\n") == "text/plain")
        #expect(type("\n  <!DOCTYPE html>\n<html>") == "text/html")
        #expect(type("<HTML><BODY>old</BODY></HTML>") == "text/html")
        #expect(type("<?xml version=\"1.0\"?>\n<feed/>") == "application/xml")
        #expect(type("<?xml version=\"1.0\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\">") == "text/html")
        #expect(type([0x00, 0x01, 0x02, 0xFE]) == "application/octet-stream")
        #expect(type([0x41, 0x42, 0xC0, 0x80]) == "application/octet-stream")  // overlong UTF-8
        #expect(type([]) == nil)
    }
}
