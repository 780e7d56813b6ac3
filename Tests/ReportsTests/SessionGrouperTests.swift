import FTPSession
@testable import Reports
import Testing

/// Grouped text output: each session's lines as one block when it ends, whatever the order
/// its events arrived in.
@Suite struct SessionGrouperTests {
    static let formatter = TextFormatter(color: false, showCommands: true, grouped: true)

    /// Every event's text, by session id, in arrival order.
    static func linesBySession(_ events: [AnalysisEvent]) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for e in events {
            let id: String = switch e {
            case .reply(let r): r.session.id
            case .command(let c): c.session.id
            case .gap(let g): g.session.id
            case .session(let s): s.session.id
            }
            if let t = formatter.format(e) { out[id, default: []].append(t) }
        }
        return out
    }

    @Test func blocksComeWholeWhenSessionsEnd() throws {
        let events = ReportCollectorTests.events
        let bySession = Self.linesBySession(events)
        // The two sessions' events interleave in the capture.
        let ids = events.compactMap { if case .reply(let r) = $0 { r.session.id } else { nil } }
        let firstS2 = try #require(ids.firstIndex(of: "s2")), lastS1 = try #require(ids.lastIndex(of: "s1"))
        #expect(firstS2 < lastS1, "interleaved")

        let grouper = SessionGrouper(formatter: Self.formatter)
        var blocks: [String] = []
        for e in events {
            grouper.add(e) { blocks.append(String(decoding: $0, as: UTF8.self)) }
        }
        #expect(grouper.flush().isEmpty)
        let ended = events.compactMap { if case .session(let s) = $0 { s.session } else { nil } }
        #expect(blocks.count == 2)
        for (block, session) in zip(blocks, ended) {
            // A heading that names the session, every record on lines of its own, a blank line.
            let expected = [Self.formatter.heading(session)] + bySession[session.id, default: []]
            #expect(block == expected.joined(separator: "\n") + "\n\n")
            #expect(block.hasPrefix("── session \(session.id) "))
        }
    }

    @Test func sessionsThatNeverEndAreFlushedInTheOrderTheyStarted() {
        let events = ReportCollectorTests.events.filter { if case .session = $0 { false } else { true } }
        let grouper = SessionGrouper(formatter: Self.formatter, maxBufferedPerSession: 20)
        var early: [String] = []
        for e in events {
            grouper.add(e) { early.append(String(decoding: $0, as: UTF8.self)) }
        }
        // The first session outgrows its buffer and is handed over early, in blocks of 20
        // entries (a heading and 19 records), each ending in a blank line, then continued.
        let s1 = Self.linesBySession(events)["s1", default: []]
        let first = events.compactMap { if case .reply(let r) = $0 { r.session } else { nil } }.first
        #expect(early.count == 4 && first?.id == "s1")
        for (i, block) in early.enumerated() {
            let heading = Self.formatter.heading(first!) + (i == 0 ? "" : " (continued)")
            let records = s1[(19 * i)..<(19 * i + 19)]
            #expect(block == ([heading] + records).joined(separator: "\n") + "\n\n")
        }
        // Then both sessions, s1 first (it started first), without a blank line between them.
        let bySession = Self.linesBySession(events)
        let second = events.compactMap { if case .reply(let r) = $0, r.session.id == "s2" { r.session } else { nil } }.first
        let expected = [Self.formatter.heading(first!) + " (continued)"] + s1[76...]
            + [Self.formatter.heading(second!)] + bySession["s2", default: []]
        #expect(String(decoding: grouper.flush(), as: UTF8.self) == expected.joined(separator: "\n") + "\n")
        #expect(grouper.flush().isEmpty)
    }

    /// Past the bound on all held text the oldest blocks are handed over, continued later
    /// under a new heading; every record still comes out once, in its session's order.
    /// A bound smaller than one heading hands every record over as it comes, and still ends.
    @Test(arguments: [1, 2_048])
    func heldTextIsBoundedAndNothingIsLost(_ bound: Int) {
        let events = ReportCollectorTests.events
        let unbounded = SessionGrouper(formatter: Self.formatter)
        let bounded = SessionGrouper(formatter: Self.formatter, maxBufferedBytes: bound)
        var whole: [String] = [], parts: [String] = []
        for e in events {
            unbounded.add(e) { whole.append(String(decoding: $0, as: UTF8.self)) }
            bounded.add(e) { parts.append(String(decoding: $0, as: UTF8.self)) }
        }
        parts.append(String(decoding: bounded.flush(), as: UTF8.self))
        #expect(whole.count == 2 && parts.count > 4, "the bound split the first session")
        let text = parts.joined()
        #expect(text.contains("(continued)"))
        // Without headings and blank lines, each session's lines in order, nothing twice.
        for id in ["s1", "s2"] {
            let records = Self.linesBySession(events)[id, default: []]
            let heading = "── session \(id) "
            let blocks = text.components(separatedBy: "\n\n").filter { $0.hasPrefix(heading) }
            let got = blocks.map { $0.split(separator: "\n", maxSplits: 1).dropFirst().joined() }.joined(separator: "\n")
            #expect(got == records.joined(separator: "\n"), "\(id)")
        }
    }

    /// Held text is counted as a buffer doubling from 512 bytes would hold it, not by the
    /// array's capacity (which depends on the allocator's history): where the bound cuts
    /// blocks must not differ between runs or between one analyzer and several.
    @Test func heldTextIsCountedIndependentlyOfTheAllocator() {
        #expect(TextBlocks<Int>.footprint(0) == 512)
        #expect(TextBlocks<Int>.footprint(512) == 512)
        #expect(TextBlocks<Int>.footprint(513) == 1024)
        #expect(TextBlocks<Int>.footprint(4096) == 4096)
        #expect(TextBlocks<Int>.footprint(4097) == 8192)
        // Two sessions' records of 300 bytes under a 2,048-byte bound: the third record of the
        // older session's block makes 1,024 + 512 + ... pass the bound at the same record every time.
        let record = [UInt8](repeating: 0x61, count: 299) + [0x0A]
        var cuts: [[Int]] = []
        for _ in 0..<3 {
            let blocks = TextBlocks<Int>(maxBufferedBytes: 2_048)
            var cut: [Int] = []
            for i in 0..<40 {
                record.withUnsafeBytes { r in
                    blocks.add(i % 3, record: r, heading: { Array("h\(i % 3)".utf8) }, emit: { _ in cut.append(i) })
                }
            }
            cuts.append(cut)
        }
        #expect(!cuts[0].isEmpty && cuts[0] == cuts[1] && cuts[1] == cuts[2])
    }
}
