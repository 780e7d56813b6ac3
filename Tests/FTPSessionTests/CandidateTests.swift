@testable import FTPSession
import PacketCapture
import Testing

/// The byte check a new connection's first command goes through agrees with the verb list
/// the rest of the analyzer uses, for every word of three and four letters.
@Test func knownVerbCheckAgreesWithTheVerbList() {
    var found = 0
    for length in 3...4 {
        var letters = [UInt8](repeating: 0x41, count: length)
        while true {
            let word = letters.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let listed = Candidate.knownVerbs.contains(String(decoding: letters, as: UTF8.self))
            if Candidate.isKnownVerb(word, length: length) != listed {
                Issue.record("\(String(decoding: letters, as: UTF8.self)): listed \(listed)")
            }
            if listed { found += 1 }
            var i = length - 1
            while i >= 0 && letters[i] == 0x5A { letters[i] = 0x41; i -= 1 }
            if i < 0 { break }
            letters[i] += 1
        }
    }
    #expect(found == Candidate.knownVerbs.count)
}

@Test(arguments: [("user bob\r\n", Candidate.Match.yes), ("UsEr bob", .yes), ("PWD\r\n", .yes), ("xcup\n", .yes),
                  ("USER", .unknown), ("", .unknown), ("US", .unknown), ("USERS x", .no), ("GET / HTTP/1.1", .no),
                  ("US1R x", .no), ("AB x", .no), ("HOST ftp.example.com\r\n", .yes), ("SSH-2.0", .no)])
func firstCommandShapes(_ text: String, _ match: Candidate.Match) {
    #expect(Candidate.looksLikeCommand(Array(text.utf8)) == match)
}

@Test(arguments: [("220 ready", Candidate.Match.yes), ("120-soon", .yes), ("421 busy", .yes), ("22", .unknown),
                  ("", .unknown), ("220", .unknown), ("2200", .no), ("230 ok", .no), ("SSH-2.0-OpenSSH", .no)])
func greetingShapes(_ text: String, _ match: Candidate.Match) {
    #expect(Candidate.looksLikeGreeting(Array(text.utf8)) == match)
}

/// A verdict reads only the first bytes of each direction, so they must add up however the
/// segments cut them: fed a byte at a time, two at a time or whole, a connection is undecided
/// until the client's verb is complete and then recognised, and a look-alike never is.
@Test(arguments: [1, 2, 3, 5, 64])
func verdictAgreesHoweverSegmentsCutTheFirstBytes(_ piece: Int) {
    func verdict(server: String, client: String, clientFirst: Bool = false) -> [String] {
        let c = Candidate(maxBuffered: 1 << 16, at: Timestamp(seconds: 0, nanoseconds: 0), midstream: false)
        var seen: [String] = []
        for (text, fromLow) in clientFirst ? [(client, true), (server, false)] : [(server, false), (client, true)] {
            let bytes = Array(text.utf8)
            for start in stride(from: 0, to: bytes.count, by: piece) {
                bytes[start..<min(start + piece, bytes.count)].withUnsafeBytes { c.record(.data($0), fromLow: fromLow, at: Timestamp(seconds: 0, nanoseconds: 0), frame: 1) }
                switch c.verdict(window: 4096) {
                case .undecided: seen.append("undecided")
                case .notFTP: seen.append("not")
                case .ftp(let serverIsLow): seen.append(serverIsLow ? "ftp-low" : "ftp-high")
                }
            }
        }
        return seen
    }
    let ftp = verdict(server: "220 ProFTPD Server ready.\r\n", client: "USER anonymous\r\n")
    #expect(ftp.last == "ftp-high")
    // Undecided until the verb's delimiter arrives (byte 5 of the client's line), never "not".
    #expect(!ftp.contains("not"))
    #expect(ftp.firstIndex(of: "ftp-high") == (27 + piece - 1) / piece + (5 + piece - 1) / piece - 1)
    #expect(verdict(server: "2200 not a reply\r\n", client: "USER x\r\n").allSatisfy { $0 == "not" || $0 == "undecided" })
    #expect(verdict(server: "2200 not a reply\r\n", client: "USER x\r\n").last == "not")
    #expect(verdict(server: "220 hello\r\n", client: "USERS bob\r\n").last == "not")
    // A pipelining client's command before the banner: the server is the side that greets.
    let early = verdict(server: "220 ProFTPD Server ready.\r\n", client: "AUTH TLS\r\n", clientFirst: true)
    #expect(early.last == "ftp-high" && !early.contains("not"))
    #expect(early.firstIndex(of: "ftp-high") == (10 + piece - 1) / piece + (4 + piece - 1) / piece - 1)
    #expect(verdict(server: "HTTP/1.1 200 OK\r\n", client: "GET / HTTP/1.1\r\n", clientFirst: true).last == "not")
    #expect(verdict(server: "250 ok\r\n", client: "HELP\r\n", clientFirst: true).last == "not")
    #expect(verdict(server: "220 mail ESMTP\r\n", client: "EHLO me\r\n", clientFirst: true).last == "not")
}

/// One side of a connection on a port found by detection: the server's lines after its 220
/// must be a login's reply, the client's must hold a verb POP3 and SMTP lack.
@Test(arguments: [
    ("220 FTP ready\r\n331 Password.\r\n", Candidate.Match.yes),
    ("220-Welcome\r\n220-220 inside\r\n220 \r\n230 Logged in.\r\n", .yes),
    ("220 mail.example.com ESMTP\r\n250-mail.example.com\r\n", .no),
    ("220 FTP ready\r\n", .unknown),
    ("220-Welcome\r\n220 still\r\n", .unknown),
    ("220 FTP ready\r\n331 Pass", .unknown),
])
func oneSidedServerShapes(_ text: String, _ match: Candidate.Match) {
    #expect(Candidate.oneSidedServer(Array(text.utf8)) == match)
}

@Test(arguments: [
    ("USER anonymous\r\nPASS x@y\r\nPWD\r\n", Candidate.Match.yes),
    ("USER bob\r\nPASS x\r\nSTAT\r\nLIST\r\nRETR 1\r\n", .unknown),
    ("USER bob\r\nPASS x\r\nUIDL\r\n", .no),
    ("FEAT\r\n", .yes),
    ("USER bob\r\nPA", .unknown),
])
func oneSidedClientShapes(_ text: String, _ match: Candidate.Match) {
    #expect(Candidate.oneSidedClient(Array(text.utf8)) == match)
}
