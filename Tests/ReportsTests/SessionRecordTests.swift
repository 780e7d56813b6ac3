import Foundation
@testable import FTPSession
import NetworkAddress
import PacketCapture
@testable import Reports
import Testing

/// The session record is written in reserved room around its transfers and anomaly counts;
/// every shape of summary must come out byte for byte as the field-by-field writer has it.
@Suite struct SessionRecordTests {
    static func summaries() -> [SessionSummary] {
        let identity = SessionIdentity(prefix: "", number: 3, server: Endpoint(.v4(0x7F00_0001), 21),
                                       client: Endpoint(.v6(0xFE80_0000_0000_0000, 0x1234), 40_000))
        var out: [SessionSummary] = []
        var n = 0
        for user: String? in [nil, "anonymous", "bob \"the\" \\ builder\u{1}", "用户"] {
            for codeSet in [[], [220], [220, 331, 230, 211, 215, 257, 250, 550, 221], Array(stride(from: 100, to: 600, by: 7))] {
                for transfers in [[], [TransferSummary(command: "RETR", path: "/a \"b\"", requested: Timestamp(nanoseconds: 5),
                                                       mode: "passive", bytesToClient: 1234, announcedSize: 1234,
                                                       finalCode: 226, outcome: "completed")]] {
                    for anomalies: [String: Int] in [[:], ["reply without command": 2, "out-of-order buffer full": 1]] {
                        for (first, last) in [(Int64(0), Int64(0)), (1_763_800_000_000_001_000, 1_763_800_123_456_789_123),
                                              (-5_000_000_000, 1_000)] {
                            n += 1
                            // Flags from the count of outer combinations, so that each is seen with
                            // every pair of timestamps (the innermost loop).
                            let k = n / 3
                            var codes = CodeCounts()
                            for (i, c) in codeSet.enumerated() { for _ in 0...(i % 3) { codes.add(c) } }
                            out.append(SessionSummary(
                                session: identity, first: Timestamp(nanoseconds: first), last: Timestamp(nanoseconds: last),
                                user: user, anonymous: k % 2 == 0, login: ["none", "success", "failed"][k % 3],
                                loginFailures: n % 4, commands: n * 3, replies: n * 5, codes: codes, gaps: n % 2,
                                gapBytes: n * 100, transfers: transfers, errors: n % 7, anomalies: anomalies,
                                finalState: SessionState.allCases[k % SessionState.allCases.count], tls: k % 2 == 1,
                                tlsRecords: 0, startedMidstream: k % 5 == 0,
                                endReason: ["fin", "rst", "idle", "evicted", "end of input"][k % 5],
                                unanswered: k % 4 == 1 ? [
                                    UnansweredCommand(timestamp: Timestamp(nanoseconds: last), verb: nil, argument: nil),
                                    UnansweredCommand(timestamp: Timestamp(nanoseconds: first), verb: "RETR", argument: "a \"b\"\u{1}"),
                                ] : []))
                        }
                    }
                }
            }
        }
        return out
    }

    /// The text output names what the server left waiting, wire text escaped.
    @Test func textListsWhatWasLeftUnanswered() throws {
        var s = try #require(Self.summaries().first { !$0.unanswered.isEmpty })
        let text = try #require(TextFormatter(showCommands: true, grouped: true).format(.session(s)))
        #expect(text.contains("\n    unanswered: (greeting), RETR a \"b\"\\x01"), "\(text)")
        s.unanswered = (0..<8).map { _ in UnansweredCommand(timestamp: Timestamp(nanoseconds: 0), verb: "NOOP", argument: nil) }
        let many = try #require(TextFormatter(showCommands: true, grouped: true).format(.session(s)))
        #expect(many.contains("\n    unanswered: NOOP, NOOP, NOOP, NOOP, NOOP, … 3 more"), "\(many)")
        s.unanswered = []
        #expect(try #require(TextFormatter(showCommands: true, grouped: true).format(.session(s))).contains("unanswered") == false)
    }

    /// Transfers past the listed ones are said in the text, the record and the reports' cell,
    /// with their sums; a session without any says nothing of them.
    @Test func transfersNotListedAreSaidEverywhere() throws {
        var s = try #require(Self.summaries().first { !$0.transfers.isEmpty })
        #expect(try #require(TextFormatter(grouped: true).format(.session(s))).contains("not listed") == false)
        s.unlisted.add(TransferSummary(command: "RETR", path: "x", requested: Timestamp(nanoseconds: 9), mode: "passive",
                                       bytesToClient: 40, uncapturedBytes: 4))
        s.unlisted.add(TransferSummary(command: "STOR", path: "y", requested: Timestamp(nanoseconds: 9), mode: "active",
                                       bytesToServer: 2))
        let said = "… and 2 more transfers (42 bytes, 4 not captured) not listed"
        let text = try #require(TextFormatter(grouped: true).format(.session(s)))
        #expect(text.contains("\(s.transfers.count + 2) transfers") && text.contains("\n    " + said), "\(text)")
        #expect(s.transfersText.hasSuffix("; " + said))
        let record = String(decoding: RecordEncoder().encode(.session(s)), as: UTF8.self)
        #expect(record.contains("\"transfers_not_listed\":2,\"transfers_not_listed_bytes\":42,"))
    }

    /// A saved file that is not the whole file says why: a resumed transfer starts inside the
    /// file (whole on the wire), a lost segment leaves a hole; a whole one says nothing more.
    @Test func textSaysWhyASavedFileIsPartOfOne() throws {
        var s = try #require(Self.summaries().first { !$0.transfers.isEmpty })
        func savedLine(whole: Bool?, offset: Int?) throws -> String {
            s.transfers[0].extractedPath = "/tmp/x/1-RETR-a\u{1B}b"
            s.transfers[0].extractedWhole = whole
            s.transfers[0].restartOffset = offset
            let text = try #require(TextFormatter(grouped: true).format(.session(s)))
            return String(try #require(text.split(separator: "\n").first { $0.contains("saved") }))
        }
        #expect(try savedLine(whole: true, offset: nil) == "      saved /tmp/x/1-RETR-a\\x1bb")
        #expect(try savedLine(whole: false, offset: nil) == "      saved /tmp/x/1-RETR-a\\x1bb (part of the file: bytes missing)")
        #expect(try savedLine(whole: false, offset: 0) == "      saved /tmp/x/1-RETR-a\\x1bb (part of the file: bytes missing)")
        #expect(try savedLine(whole: false, offset: 4096) == "      saved /tmp/x/1-RETR-a\\x1bb (part of the file: resumed at byte 4096)")
    }

    @Test func roomAndFieldWritersAgree() throws {
        let encoder = RecordEncoder()
        for s in Self.summaries() {
            let room = encoder.encode(.session(s))
            let byField = encoder.byField { encoder.sessionByField(s, &$0) }
            #expect(room == byField, "\(String(decoding: room, as: UTF8.self))")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(room.dropLast())) as? [String: Any])
            #expect(object["session"] as? String == "s3")
            #expect(object["user"] as? String == s.user)
            #expect((object["replies_by_code"] as? [String: Int])?.count == s.codes.distinct)
            let unanswered = try #require(object["unanswered"] as? [[String: Any]])
            #expect(unanswered.map { $0["command"] as? String } == s.unanswered.map(\.verb))
            #expect(unanswered.map { $0["argument"] as? String } == s.unanswered.map(\.argument))
        }
    }
}

/// Random text in every field the room bounds by length, many codes and extreme counts.
@Test func randomSessionsMatchTheFieldWriter() {
    var rng = SystemRandomNumberGenerator()
    func text(_ maxCount: Int) -> String {
        String(decoding: (0..<Int.random(in: 0...maxCount, using: &rng)).map { _ in
            [0x00, 0x1B, 0x22, 0x5C, 0x7F, 0xC3, 0xFF, 0x41][Int.random(in: 0..<8, using: &rng)]
        }, as: UTF8.self)
    }
    let encoder = RecordEncoder()
    let identity = SessionIdentity(prefix: text(8), number: Int.random(in: 0...Int.max, using: &rng),
                                   server: Endpoint(.v6(.max, .max), .max), client: Endpoint(.v4(.max), .max))
    for _ in 0..<500 {
        var codes = CodeCounts()
        for _ in 0..<Int.random(in: 0...40, using: &rng) { codes.add(Int.random(in: 0...999, using: &rng)) }
        let first = Int64.random(in: 0...(Int64.max / 2), using: &rng)
        let summary = SessionSummary(
            session: identity, first: Timestamp(nanoseconds: first),
            last: Timestamp(nanoseconds: first + Int64.random(in: 0...999_999_999_999_999, using: &rng)),
            user: Bool.random(using: &rng) ? text(30) : nil, anonymous: Bool.random(using: &rng), login: text(10),
            loginFailures: Int.random(in: 0...Int.max, using: &rng), commands: Int.random(in: 0...Int.max, using: &rng),
            replies: Int.random(in: 0...Int.max, using: &rng), codes: codes, gaps: Int.random(in: 0...Int.max, using: &rng),
            gapBytes: Int.random(in: 0...Int.max, using: &rng), transfers: [], errors: Int.random(in: 0...Int.max, using: &rng),
            anomalies: Bool.random(using: &rng) ? [:] : [text(10): 1],
            finalState: SessionState.allCases.randomElement(using: &rng)!, tls: Bool.random(using: &rng), tlsRecords: 0,
            startedMidstream: Bool.random(using: &rng), endReason: text(20))
        let byField = encoder.byField { encoder.sessionByField(summary, &$0) }
        #expect(encoder.encode(.session(summary)) == byField)
    }
}
