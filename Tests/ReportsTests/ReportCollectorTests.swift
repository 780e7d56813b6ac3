import FTPSession
import PacketCapture
@testable import Reports
import TestSupport
import Testing

/// The report collector applies the policy as replies arrive, so what it keeps for a format
/// (every exchange, some, or none) never changes which violations are found.
@Suite struct ReportCollectorTests {
    /// Two sessions: the first answers 40 RETRs with 550 and loses a server segment; the
    /// second fails its login.
    static let events: [AnalysisEvent] = {
        var a = Conversation()
        a.handshake()
        a.server("220 Ready.\r\n")
        a.client("USER a\r\n"); a.server("331 p\r\n")
        a.client("PASS b\r\n"); a.server("230 in\r\n")
        for i in 0..<40 { a.client("RETR f\(i)\r\n"); a.server("550 f\(i): no such file\r\n") }
        a.client("SYST\r\n")
        let lost = a.packets.count
        a.server("215 UNIX lost\r\n")
        a.client("NOOP\r\n"); a.server("200 ok\r\n")
        a.ack(fromClient: true)
        a.remove(at: lost)
        a.close()
        var b = Conversation(client: Endpoint(IPAddress("10.0.0.6")!, 40313))
        b.handshake()
        b.server("220 Ready.\r\n")
        b.client("USER a\r\n"); b.server("331 p\r\n")
        b.client("PASS b\r\n"); b.server("530 no\r\n")
        b.close()
        let path = CaptureFile.temporaryPath("collector.pcap")
        try! CaptureFile.write([a, b], to: path)
        return try! AnalysisRun.of(path).events
    }()

    static func collect(_ policy: Policy, keep: Bool, cap: Int = 5_000) -> ReportCollector {
        var c = ReportCollector(maxExchangesPerSession: cap, policy: policy, keepExchanges: keep)
        for e in events { c.add(e) }
        return c
    }

    @Test func violationsDoNotDependOnWhatIsKept() throws {
        let policy = Policy(rules: [.replyClass(5), .gap])
        let all = Self.collect(policy, keep: true)
        let capped = Self.collect(policy, keep: true, cap: 10)
        let none = Self.collect(policy, keep: false)
        // 40 × 550 and the 530, then the gap, whichever session ended first.
        #expect(all.violationCount == 42)
        #expect(all.violations.filter { $0.contains("reply 550 (5xx)") }.count == 40)
        #expect(all.violations.contains { $0.hasSuffix(": reply 530 (5xx)") })
        #expect(all.violations.last?.hasSuffix("gap of 15 bytes from the server") == true, "gaps come after replies")
        #expect(capped.violations == all.violations && capped.violationCount == all.violationCount)
        #expect(none.violations == all.violations && none.violationCount == all.violationCount)
        // What each keeps of the exchanges.
        let first = try #require(all.sessions.first { $0.summary.replies > 10 })
        // The greeting and 44 commands; the 215 was lost, and NOOP, sent before the 200 came,
        // was sent after SYST's reply: the 200 answers NOOP and SYST's exchange has no reply.
        #expect(first.exchanges.count == 45)
        #expect(first.exchanges.first { $0.command == "SYST" }?.replies.isEmpty == true)
        #expect(first.exchanges.last?.command == "NOOP" && first.exchanges.last?.replies.map { $0.reply.code } == [200])
        #expect(first.droppedExchanges == 0)
        #expect(first.gaps.map(\.bytes) == [15])
        let firstCapped = try #require(capped.sessions.first { $0.summary.replies > 10 })
        #expect(firstCapped.exchanges.count == 10)
        #expect(firstCapped.droppedExchanges == 35)
        #expect(none.sessions.count == 2 && none.sessions.allSatisfy { $0.exchanges.isEmpty && $0.droppedExchanges == 0 })
        #expect(none.sessions.map { $0.gaps.count }.sorted() == [0, 1])
    }

    /// Whether the exchanges that have replies are in the order of their first replies: by
    /// time, and (replies in one segment share a time) by the commands they answer, which the
    /// server answers in order.
    static func firstRepliesInOrder(_ exchanges: [Exchange]) -> Bool {
        let times = exchanges.compactMap { $0.replies.first?.timestamp }
        let answered = exchanges.compactMap { $0.replies.first?.commandNumber }
        return times.count > 1 && zip(times, times.dropFirst()).allSatisfy { $0 <= $1 }
            && zip(answered, answered.dropFirst()).allSatisfy { $0 < $1 }
    }

    /// A pipelining client: commands sent before the banner and several at a time, a
    /// transfer taken over by ABOR. Each reply joins the exchange of the command the session
    /// paired it with, not the latest command's, and no command is shown twice or unanswered.
    @Test func pipelinedCommandsKeepTheirOwnReplies() throws {
        var a = Conversation()
        a.handshake()
        a.client("USER a\r\nPASS b\r\n")
        a.server("220 Ready.\r\n")
        a.server("331 p\r\n230 in\r\n")
        a.client("TYPE I\r\nPASV\r\nSIZE f\r\n")
        a.server("200 binary\r\n227 Entering Passive Mode (192,0,2,1,4,1)\r\n213 5\r\n")
        a.client("RETR f\r\n"); a.server("150 opening\r\n")
        a.client("ABOR\r\n"); a.server("426 aborted\r\n226 abort ok\r\n")
        a.client("NOOP\r\nQUIT\r\n"); a.server("200 ok\r\n221 bye\r\n")
        a.close()
        let events = try a.analyze("pipelined.pcap").events
        // USER and PASS came before the banner: that anomaly is not what this test is about.
        let policy = Policy(rules: [.anomaly], allowedAnomalies: ["command before banner"])
        var kept = ReportCollector(policy: policy)
        for e in events { kept.add(e) }
        let session = try #require(kept.sessions.first)
        // The exchanges in the order of their first replies: the greeting before the two
        // commands sent ahead of it.
        let shown = session.exchanges.map { e in
            "\(e.command ?? "-") \(e.argument ?? "") → " + e.replies.map { String($0.reply.code ?? 0) }.joined(separator: ",")
        }
        #expect(shown == ["-  → 220", "USER a → 331", "PASS **** → 230", "TYPE I → 200", "PASV  → 227", "SIZE f → 213",
                          "RETR f → 150,426", "ABOR  → 226", "NOOP  → 200", "QUIT  → 221"])
        #expect(Self.firstRepliesInOrder(session.exchanges))
        // JUnit and HTML rendered as exchanges settle are the same as rendered from them all,
        // with a test case per exchange and none failed for want of a reply.
        var junit = ReportCollector(policy: policy, keepExchanges: false, sections: JUnitReport.sections, rows: .countOnly)
        var html = ReportCollector(policy: policy, keepExchanges: false, sections: HTMLReport().sections)
        for e in events { junit.add(e); html.add(e) }
        let xml = JUnitReport().render(junit, policy: policy)
        #expect(xml == JUnitReport().render(kept, policy: policy))
        #expect(xml.contains("<testsuites name=\"ftpscope\" tests=\"10\" failures=\"0\""))
        #expect(!xml.contains("no reply"))
        #expect(HTMLReport().render(html, violations: html.violations) == HTMLReport().render(kept, violations: kept.violations))
    }

    /// A client that sends more commands than a session holds exchanges for before any is
    /// answered: the oldest are let go unanswered, their late replies shown on their own, and
    /// the reports rendered as exchanges settle are still those rendered from all of them.
    @Test func unansweredCommandsBeyondWhatIsHeld() throws {
        let held = ReportCollector.maxHeldExchanges, sent = ReportCollector.maxHeldExchanges + 8
        var a = Conversation()
        a.handshake()
        a.server("220 Ready.\r\n")
        a.client(String(repeating: "NOOP\r\n", count: sent))
        a.server(String(repeating: "200 ok\r\n", count: sent))
        a.close()
        let events = try a.analyze("unanswered.pcap").events
        let policy = Policy(rules: [.anomaly])
        var kept = ReportCollector(policy: policy)
        var junit = ReportCollector(policy: policy, keepExchanges: false, sections: JUnitReport.sections, rows: .countOnly)
        for e in events { kept.add(e); junit.add(e) }
        let exchanges = try #require(kept.sessions.first).exchanges
        let replies = exchanges.map { $0.replies.count }
        // The greeting; 8 commands let go; their 8 late replies, each on its own; the 32 held,
        // answered: in the order the replies came.
        #expect(replies == [1] + Array(repeating: 0, count: sent - held) + Array(repeating: 1, count: sent))
        #expect(exchanges.suffix(sent).allSatisfy { $0.command == "NOOP" })
        #expect(Self.firstRepliesInOrder(exchanges))
        let xml = JUnitReport().render(junit, policy: policy)
        #expect(xml == JUnitReport().render(kept, policy: policy))
        #expect(xml.components(separatedBy: "no reply").count - 1 == sent - held)
    }

    @Test func noPolicyNoViolations() {
        let c = Self.collect(Policy(), keep: false)
        #expect(c.violationCount == 0 && c.violations.isEmpty)
        #expect(c.codes[550] == 40 && c.codes[530] == 1)
    }

    @Test func mergedCollectorsKeepFileOrder() {
        let policy = Policy(rules: [.code(530), .gap])
        var merged = Self.collect(policy, keep: false)
        merged.merge(Self.collect(policy, keep: false))
        let one = Self.collect(policy, keep: false)
        #expect(merged.violationCount == 2 * one.violationCount)
        // Replies of both files first, then the gaps of both.
        let replies = one.violations.filter { !$0.contains("gap") }, gaps = one.violations.filter { $0.contains("gap") }
        #expect(merged.violations == replies + replies + gaps + gaps)
    }

    /// JUnit and HTML reports written from sections spooled as sessions ended are the reports
    /// rendered from every exchange kept in memory, and the spooling collector keeps none.
    @Test func spooledSectionsMakeTheSameReports() {
        let policy = Policy(rules: [.replyClass(5), .gap, .anomaly])
        let kept = Self.collect(policy, keep: true)
        var junit = ReportCollector(policy: policy, keepExchanges: false, sections: JUnitReport.sections, rows: .countOnly)
        var html = ReportCollector(policy: policy, keepExchanges: false, sections: HTMLReport().sections)
        for e in Self.events { junit.add(e); html.add(e) }
        #expect(junit.spools.count == 1 && junit.sessions.isEmpty && junit.sessionCount == 2)
        #expect(junit.rowSpools.isEmpty)
        #expect(html.sessions.count == 2 && html.sessions.allSatisfy { $0.exchanges.isEmpty })
        let xml = JUnitReport().render(junit, policy: policy)
        #expect(xml == JUnitReport().render(kept, policy: policy))
        // 45 exchanges and the gap's case in the first session, 3 in the second; failing: 40 × 550,
        // the SYST exchange left without a reply and NOOP's 200 that says SYST's reply was lost
        // (the rule `anomaly`), the gap, the 530.
        #expect(xml.contains("<testsuites name=\"ftpscope\" tests=\"49\" failures=\"44\""))
        #expect(xml.contains("gap of 15 bytes from the server"))
        let page = HTMLReport().render(html, violations: html.violations)
        #expect(page == HTMLReport().render(kept, violations: kept.violations))
        #expect(page.components(separatedBy: "<table class=\"timeline\">").count == 3)
        // Two files' collectors merged: their sections in file order.
        var merged = ReportCollector(policy: policy, keepExchanges: false, sections: JUnitReport.sections)
        merged.merge(junit)
        var second = ReportCollector(policy: policy, keepExchanges: false, sections: JUnitReport.sections)
        for e in Self.events { second.add(e) }
        merged.merge(second)
        var keptTwice = kept
        keptTwice.merge(kept)
        #expect(JUnitReport().render(merged, policy: policy) == JUnitReport().render(keptTwice, policy: policy))
    }

    /// Open sessions' rendered parts moved to the spill file whenever they outgrow the budget
    /// (after every exchange, after a few, only the long session's, never) make the same JUnit
    /// and HTML reports as every exchange kept; so do parts of a session left open in one
    /// collector and finished in the one it was merged into.
    @Test func spilledPartsMakeTheSameReports() throws {
        let policy = Policy(rules: [.replyClass(5), .gap, .anomaly])
        let kept = Self.collect(policy, keep: true)
        let xml = JUnitReport().render(kept, policy: policy)
        let page = HTMLReport().render(kept, violations: kept.violations)
        // JUnit's collector counts sessions, HTML's keeps them for its table.
        func collector(_ sections: SectionRenderer, budget: Int, minimum: Int = 0, rows: SessionRows? = .countOnly) -> ReportCollector {
            ReportCollector(policy: policy, keepExchanges: false, sections: sections, rows: rows,
                            heldPartsBudget: budget, minimumSpilledBytes: minimum)
        }
        // The first session's test cases are about 14 KB (its table rows about 9 KB), the
        // second's under 1 KB.
        for (budget, minimum, spills) in [(0, 0, 45...48), (1_000, 0, 2...12), (0, 4_096, 2...4), (1 << 30, 0, 0...0)] {
            var junit = collector(JUnitReport.sections, budget: budget, minimum: minimum)
            var html = collector(HTMLReport().sections, budget: budget, minimum: minimum, rows: nil)
            for e in Self.events { junit.add(e); html.add(e) }
            #expect(spills.contains(junit.spills) && spills.contains(html.spills),
                    "budget \(budget), minimum \(minimum): \(junit.spills), \(html.spills) spills")
            #expect(JUnitReport().render(junit, policy: policy) == xml)
            #expect(HTMLReport().render(html, violations: html.violations) == page)
        }
        // Cut inside the first session: its spilled parts travel with it into the merged
        // collector, which then sees the rest.
        let cut = try #require(Self.events.firstIndex { if case .reply(let r) = $0 { r.reply.firstLine.starts(with: Array("550 f30:".utf8)) } else { false } })
        var first = collector(JUnitReport.sections, budget: 0)
        for e in Self.events[..<cut] { first.add(e) }
        #expect(first.spills > 20)
        var merged = collector(JUnitReport.sections, budget: 0)
        merged.merge(first)
        for e in Self.events[cut...] { merged.add(e) }
        #expect(JUnitReport().render(merged, policy: policy) == xml)
    }

    /// Markdown, HTML and JSON reports whose table of sessions was spooled row by row as
    /// sessions ended are the reports rendered from the sessions kept in memory, for one
    /// collector and for three merged (JSON's separator where two files' rows meet), and the
    /// spooling collectors keep no session.
    @Test func spooledRowsMakeTheSameReports() throws {
        let policy = Policy(rules: [.replyClass(5), .gap])
        let kept = Self.collect(policy, keep: true)
        #expect(kept.sessions.count == 2 && kept.sessionCount == 2)
        func spooled(_ rows: SessionRows, sections: SectionRenderer? = nil, files: Int) -> ReportCollector {
            var all = ReportCollector(policy: policy, keepExchanges: false, sections: sections, rows: rows)
            for _ in 0..<files {
                var one = ReportCollector(policy: policy, keepExchanges: false, sections: sections, rows: rows)
                for e in Self.events { one.add(e) }
                all.merge(one)
            }
            return all
        }
        var keptThrice = kept
        keptThrice.merge(kept)
        keptThrice.merge(kept)
        for (files, reference) in [(1, kept), (3, keptThrice)] {
            let md = spooled(MarkdownReport.sessionRows, files: files)
            #expect(md.sessions.isEmpty && md.sessionCount == 2 * files && md.rowSpools.count == files)
            let markdown = MarkdownReport().render(md, policy: policy, violations: md.violations)
            #expect(markdown == MarkdownReport().render(reference, policy: policy, violations: reference.violations))
            #expect(markdown.contains("\(2 * files) FTP sessions"))
            #expect(markdown.components(separatedBy: "| s1 | 192.0.2.1:21 |").count == files + 1)

            let json = spooled(JSONReport.sessionRows, files: files)
            let document = JSONReport().render(json, violations: json.violations)
            #expect(document == JSONReport().render(reference, violations: reference.violations))
            let text = String(decoding: document, as: UTF8.self)
            #expect(text.components(separatedBy: "},{\"type\":\"session\"").count == 2 * files,
                    "a comma between each two sessions' records")

            let html = spooled(HTMLReport.sessionRows, sections: HTMLReport().sections, files: files)
            #expect(html.sessions.isEmpty && html.rowSpools.count == files && html.spools.count == files)
            let page = HTMLReport().render(html, violations: html.violations)
            #expect(page == HTMLReport().render(reference, violations: reference.violations))
            #expect(page.components(separatedBy: "<tr><td><a href=\"#s2\">s2</a>").count == files + 1)
        }
    }

    /// The ten slowest replies are those of a stable sort of every reply by latency, with many
    /// ties (the collector keeps only replies slower than the 20th it kept), for one collector
    /// and for two merged.
    @Test func slowestRepliesAreTheStableTopTen() throws {
        var a = Conversation()
        a.handshake()
        a.server("220 Ready.\r\n")
        var seed: UInt64 = 7
        for i in 0..<300 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            a.step = Int64(1 + (seed >> 33) % 6) * 1_000_000
            a.client("NOOP \(i)\r\n")
            a.step = 1_000_000
            a.server("200 ok \(i)\r\n")
        }
        a.close()
        let path = CaptureFile.temporaryPath("slowest.pcap")
        try CaptureFile.write([a], to: path)
        let events = try AnalysisRun.of(path).events
        let timed = events.compactMap { e -> ReplyEvent? in
            if case .reply(let r) = e, r.command != nil, r.latencyMilliseconds != nil { return r }
            return nil
        }
        #expect(timed.count == 300 && Set(timed.map { $0.latencyMilliseconds! }).count == 6)
        func top(_ replies: [ReplyEvent]) -> [String] {
            // Swift's sort is stable: ties stay in the order the replies came.
            replies.sorted { $0.latencyMilliseconds! > $1.latencyMilliseconds! }.prefix(10)
                .map { String(decoding: $0.reply.firstLine, as: UTF8.self) }
        }
        var one = ReportCollector(policy: Policy(), keepExchanges: false)
        for e in events { one.add(e) }
        #expect(one.slowest.count < 60, "cut back as replies arrive")
        #expect(one.slowestReplies.map { String(decoding: $0.reply.firstLine, as: UTF8.self) } == top(timed))
        var merged = ReportCollector(policy: Policy(), keepExchanges: false)
        merged.merge(one)
        merged.merge(one)
        #expect(merged.slowestReplies.map { String(decoding: $0.reply.firstLine, as: UTF8.self) } == top(timed + timed))
    }

    /// A session's parts grow by room for two exchanges or a quarter while they are small
    /// (held for every open session), and by doubling once they are large (a copy per exchange
    /// would be quadratic).
    @Test func partsGrowByWhatIsAskedUntilTheyAreLarge() {
        var parts = SectionRenderer.Section()
        let piece = [UInt8](repeating: 0x61, count: 450)
        for _ in 0..<30 {
            parts.makeRoom(piece.count)
            parts.text += piece
            let slack = parts.text.capacity - parts.text.count
            // After an append the room left is at most one more piece, or a quarter.
            #expect(slack < max(piece.count, parts.text.count / 4) + 64, "\(parts.text.count) bytes in \(parts.text.capacity)")
        }
        var large = SectionRenderer.Section(text: [UInt8](repeating: 0x62, count: 20_000))
        large.makeRoom(450)
        #expect(large.text.capacity >= 40_000)
        let before = large.text.capacity
        large.makeRoom(450)
        #expect(large.text.capacity == before, "room already there")
    }

    @Test func spoolReturnsWhatWasAppendedInOrder() {
        let spool = SectionSpool()
        var expected: [UInt8] = []
        for i in 0..<3_000 {
            let text = "section \(i) " + String(repeating: "é", count: i % 50) + "\n"
            spool.append(text)
            expected += Array(text.utf8)
        }
        var read: [UInt8] = []
        spool.forEachChunk { read += $0 }
        #expect(read.count > 1 << 16, "more than one chunk")
        #expect(read == expected && spool.byteCount == expected.count)
        var again: [UInt8] = []
        spool.forEachChunk { again += $0 }
        #expect(again == expected, "reading twice")
    }
}

