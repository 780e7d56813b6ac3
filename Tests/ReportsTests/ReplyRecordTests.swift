import Foundation
@testable import FTPProtocol
@testable import FTPSession
import NetworkAddress
import PacketCapture
@testable import Reports
import Testing

/// The reply record is written in one reserved room when it can be; every combination of
/// what a reply may carry must come out byte for byte as the field-by-field writer has it,
/// and as valid JSON whose values read back as given.
@Suite struct ReplyRecordTests {
    static let identity = SessionIdentity(prefix: "cap-", number: 12, server: Endpoint(.v4(0xC633_6401), 21),
                                          client: Endpoint(.v6(0x2001_0DB8_0000_0000, 1), 50_000))

    static let lineSets: [[[UInt8]]] = [
        [Array("220 Ready".utf8)],
        [Array("230-Welcome".utf8), Array(" with \"quotes\" and \\ backslash".utf8), Array("230 done".utf8)],
        [Array("550 caf\u{E9} \u{1B}[31mred".utf8) + [0xFF, 0x00, 0x7F, 0x09]],
        [Array("211-".utf8), [], Array("211 End".utf8)],
        [Array(repeating: 0x41, count: 3000)],
    ]

    static func events() -> [ReplyEvent] {
        var out: [ReplyEvent] = []
        var n = 0
        for lines in lineSets {
            for command: String? in [nil, "PASV"] {
                for argument: [UInt8]? in [nil, Array("**\"*\u{1}".utf8)] {
                    for passive: AnnouncedAddress? in [nil, AnnouncedAddress(host: "10.0.0.1", port: 50_001),
                                                       AnnouncedAddress(host: nil, port: 1)] {
                        for anomalies: [String] in [[], ["reply without command", "code \"odd\""]] {
                            for latency: Double? in [nil, 0.0004, 12.3456, 999_999_999_999.9] {
                                n += 1
                                out.append(ReplyEvent(
                                    timestamp: Timestamp(nanoseconds: 1_700_000_000_000_000_000 + Int64(n) * 1_001),
                                    session: identity,
                                    reply: Reply(code: [220, 230, 550, 211, 999][n % 5], lines: lines, droppedLines: n % 3),
                                    command: command, argument: argument, state: SessionState.allCases[n % SessionState.allCases.count],
                                    passive: passive, protected: nil, anomalies: anomalies, latencyMilliseconds: latency))
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    @Test func roomAndFieldWritersAgree() throws {
        let encoder = RecordEncoder()
        for e in Self.events() {
            let room = encoder.encode(.reply(e))
            let byField = encoder.byField { encoder.replyByField(e, &$0) }
            #expect(room == byField, "\(String(decoding: room, as: UTF8.self))")
            // The entry JSON Lines output takes replies by (EventSink's reply consumer).
            var direct = JSONWriter()
            encoder.encode(reply: e, into: &direct)
            #expect(String(decoding: direct.out, as: UTF8.self) == String(decoding: room, as: UTF8.self))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(room.dropLast())) as? [String: Any])
            #expect(object["session"] as? String == "cap-s12")
            #expect((object["lines"] as? [String])?.count == e.reply.lineCount)
            #expect((object["anomalies"] as? [String]) == e.anomalies)
        }
    }

    /// The merger renumbers sessions from the mark the writer leaves at the id.
    @Test func identityMarkPointsAtTheId() {
        let encoder = RecordEncoder()
        var w = JSONWriter()
        w.append(bytes: Array("previous record\n".utf8))
        encoder.encode(.reply(Self.events()[7]), into: &w)
        let out = w.out
        #expect(Array(out[w.identityMark..<(w.identityMark + 9)]) == Array("\"cap-s12\"".utf8))
    }
}

/// Random wire bytes of random lengths in every text field: the room's bound must hold and the
/// bytes must match the field writer's, whatever the bytes are.
@Test func randomRepliesMatchTheFieldWriter() {
    var rng = SystemRandomNumberGenerator()
    func bytes(_ maxCount: Int) -> [UInt8] {
        // Mostly bytes that need escaping or are not UTF-8: the longest output per input byte.
        (0..<Int.random(in: 0...maxCount, using: &rng)).map { _ in
            [0x00, 0x1B, 0x22, 0x5C, 0x7F, 0xC3, 0xFF, 0x41][Int.random(in: 0..<8, using: &rng)]
        }
    }
    let encoder = RecordEncoder()
    for _ in 0..<2_000 {
        let lines = (0..<Int.random(in: 1...4, using: &rng)).map { _ in bytes(40) }
        let event = ReplyEvent(
            timestamp: Timestamp(nanoseconds: Int64.random(in: 0...Int64.max, using: &rng)),
            session: ReplyRecordTests.identity,
            reply: Reply(code: Int.random(in: 100...999, using: &rng), lines: lines,
                         droppedLines: Int.random(in: 0...Int.max, using: &rng)),
            command: Bool.random(using: &rng) ? "ABCDEFGHIJKLMNOP" : nil,
            argument: Bool.random(using: &rng) ? bytes(60) : nil,
            state: SessionState.allCases.randomElement(using: &rng)!,
            passive: Bool.random(using: &rng)
                ? AnnouncedAddress(host: String(decoding: bytes(20), as: UTF8.self), port: .max) : nil,
            protected: nil,
            anomalies: (0..<Int.random(in: 0...3, using: &rng)).map { _ in String(decoding: bytes(10), as: UTF8.self) },
            latencyMilliseconds: Bool.random(using: &rng) ? Double.random(in: 0..<1e12, using: &rng) : nil)
        let byField = encoder.byField { encoder.replyByField(event, &$0) }
        #expect(encoder.encode(.reply(event)) == byField)
    }
}

extension RecordEncoder {
    /// One record as the field-by-field writer has it, newline included, as `encode` ends it.
    func byField(_ write: (inout JSONWriter) -> Void) -> [UInt8] {
        var w = JSONWriter()
        w.beginRecord()
        write(&w)
        w.raw(0x0A)
        return w.out
    }
}
