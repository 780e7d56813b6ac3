import FTPSession
import Reports
import Testing
import TestSupport

/// The text formatter's reply lines: columns that line up whatever the command, and wire text
/// that cannot reach the terminal as controls.
@Suite struct TextFormatterTests {
    static let replies: [ReplyEvent] = {
        var a = Conversation()
        a.handshake()
        a.server("220 Ready.\r\n")
        for path in ["/a/rather/long/directory/name/that/overflows", "/\u{E9}t\u{E9}/long/directory/name/that/overflows",
                     "/exactly/twenty/six/c", "/exactly/twenty/six/cc"] {
            a.client("CWD \(path)\r\n"); a.server("250 ok\r\n")
        }
        a.client("NOOP\r\n"); a.server("200-\u{1B}[31mred\\ \u{E9}\r\n200 done\r\n")
        a.close()
        let path = CaptureFile.temporaryPath("text-columns.pcap")
        try! CaptureFile.write([a], to: path)
        return try! AnalysisRun.of(path).events.compactMap { if case .reply(let r) = $0 { r } else { nil } }
    }()

    /// The command column is 28 characters: shorter text padded, longer cut to 27 and `…`,
    /// counted in characters (the arrow and `é` are one each, several bytes).
    @Test func commandColumnIsTwentyEightCharacters() throws {
        let f = TextFormatter(grouped: true)
        let heads = try Self.replies.map { try #require(f.format(.reply($0))?.split(separator: "\n").first) }
        #expect(heads.count == 6)
        // time (15) and two spaces, code and two spaces, then the column and two spaces.
        let columns = heads.map { String($0.dropFirst(15 + 2 + 3 + 2).prefix(28 + 2)) }
        #expect(columns == [
            "(greeting)                    ",
            "← CWD /a/rather/long/direct…  ",
            "← CWD /\u{E9}t\u{E9}/long/directory/n…  ",
            "← CWD /exactly/twenty/six/c   ",
            "← CWD /exactly/twenty/six/cc  ",
            "← NOOP                        ",
        ])
        // So the state column starts at the same character on every line.
        let states = heads.map { $0.dropFirst(15 + 2 + 3 + 2 + 28 + 2).prefix(while: { $0 != " " }) }
        #expect(states.allSatisfy { s in SessionState.allCases.contains { $0.rawValue == s } }, "\(states)")
    }

    /// The latency column is 10 characters: milliseconds below 100 s, seconds from there (a
    /// 5 GB download's 226 came 150,529.5 ms after its RETR in a Zeek trace, cut to "150529.5 …").
    @Test func latencyColumnShowsSecondsForLongWaits() throws {
        let f = TextFormatter(grouped: true)
        let columns = try [0.2, 99_999.9, 150_529.5, 36_000_000].map { ms in
            var r = Self.replies[5]
            r.latencyMilliseconds = ms
            let head = try #require(f.format(.reply(r))?.split(separator: "\n").first)
            return String(head.dropFirst(15 + 2 + 3 + 2 + 28 + 2 + 13 + 2).prefix(10 + 2))
        }
        #expect(columns == ["0.2 ms      ", "99999.9 ms  ", "150.5 s     ", "36000.0 s   "])
    }

    @Test func wireLinesAreEscapedAndIndented() throws {
        let text = try #require(TextFormatter(grouped: true).format(.reply(Self.replies[5])))
        #expect(text.split(separator: "\n").dropFirst() == ["    200-\\x1b[31mred\\\\ \u{E9}", "    200 done"])
        var bytes: [UInt8] = []
        #expect(TextFormatter(grouped: true).write(.reply(Self.replies[5]), to: &bytes))
        #expect(String(decoding: bytes, as: UTF8.self) == text)
    }

    /// A connection the server refused says so in its session line, not "ended by refused".
    @Test func aRefusedConnectionSaysSo() throws {
        var a = Conversation()
        a.handshake()
        a.remove(at: 2); a.remove(at: 1)
        a.reset(fromClient: false)
        let path = CaptureFile.temporaryPath("refused-text.pcap")
        try CaptureFile.write([a], to: path)
        let session = try #require(try AnalysisRun.of(path).events.first { if case .session = $0 { true } else { false } })
        let text = try #require(TextFormatter(grouped: true).format(session))
        #expect(text.contains(", refused by the server") && !text.contains("ended by"))
    }

    /// A reply without a command says why: the greeting, an answer to a command the capture
    /// lost, or a reply nothing asked for; in text and in the HTML timeline alike.
    @Test func repliesWithoutACommandSayWhy() throws {
        var a = Conversation()
        a.handshake(); a.server("220 Ready.\r\n")
        let lost = a.packets.count
        a.client("CWD /x\r\n"); a.server("250 ok\r\n")
        a.server("421 Timeout.\r\n")
        a.close()
        a.remove(at: lost)
        let path = CaptureFile.temporaryPath("unasked.pcap")
        try CaptureFile.write([a], to: path)
        let events = try AnalysisRun.of(path).events
        let f = TextFormatter(grouped: true)
        let heads = events.compactMap { e -> String? in
            guard case .reply = e else { return nil }
            return f.format(e)?.split(separator: "\n").first.map(String.init)
        }
        try #require(heads.count == 3)
        #expect(heads[0].contains("220  (greeting)  "))
        #expect(heads[1].contains("250  (command lost)  ") && heads[1].contains("command lost in gap"))
        #expect(heads[2].contains("421  (unsolicited)  "))
        var html = ReportCollector(policy: Policy(), keepExchanges: true)
        for e in events { html.add(e) }
        let page = HTMLReport().render(html, violations: [])
        #expect(page.components(separatedBy: "(greeting)").count == 2)
        #expect(page.contains("(command lost)") && page.contains("(unsolicited)"))
    }
}
