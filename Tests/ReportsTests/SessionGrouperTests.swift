import FTPSession
import Reports
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
        var blocks: [[String]] = []
        for e in events {
            let b = grouper.add(e)
            if !b.isEmpty { blocks.append(b) }
        }
        #expect(grouper.flush().isEmpty)
        let ended = events.compactMap { if case .session(let s) = $0 { s.session.id } else { nil } }
        #expect(blocks.count == 2)
        for (block, id) in zip(blocks, ended) {
            #expect(block.first?.contains(id) == true, "a heading names the session")
            #expect(Array(block.dropFirst()) == bySession[id])
        }
    }

    @Test func sessionsThatNeverEndAreFlushedInTheOrderTheyStarted() {
        let events = ReportCollectorTests.events.filter { if case .session = $0 { false } else { true } }
        let grouper = SessionGrouper(formatter: Self.formatter, maxBufferedPerSession: 20)
        var early: [String] = []
        for e in events { early += grouper.add(e) }
        // The first session outgrows its buffer and is handed over early, in blocks of 20 lines
        // (a heading and 19), then continued.
        #expect(early.count == 80 && early.first?.hasPrefix("── session s1") == true)
        #expect(early.filter { $0.hasPrefix("── session") }.count == 4)
        let rest = grouper.flush()
        let headings = rest.filter { $0.hasPrefix("── session") }
        #expect(headings.count == 2)
        #expect(headings.first?.contains("(continued)") == true, "s1 started first")
        #expect(grouper.flush().isEmpty)
    }
}
