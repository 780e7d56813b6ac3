import FTPSession
import PacketCapture
import Reports
import Testing

/// JSON Lines output takes replies through their own consumer (`EventSink(replies:others:)`),
/// text and reports take every event through one. Both must see the same replies, in the same
/// order among the other events, and the reply entry of the encoder must write what the event
/// entry writes: every real capture, through both sinks, record for record.
@Suite struct EventSinkTests {
    static func records(_ name: String, repliesApart: Bool) throws -> [String] {
        let source = try PcapSource.openFile(Fixtures.path(name))
        let encoder = RecordEncoder()
        var lines: [String] = []
        var config = try Fixtures.configuration(name)
        config.emitCommands = true
        let sink = repliesApart
            ? EventSink(replies: { reply in
                var w = JSONWriter()
                encoder.encode(reply: reply, into: &w)
                lines.append("reply apart " + w.withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
            }, others: { lines.append(String(decoding: encoder.encode($0), as: UTF8.self)) })
            : EventSink { event in
                let prefix = event.kind == .reply ? "reply apart " : ""
                lines.append(prefix + String(decoding: encoder.encode(event), as: UTF8.self))
            }
        _ = CaptureDriver.run(source, configuration: config, readAheadFrom: nil, sink: sink)
        return lines
    }

    @Test(arguments: Fixtures.captureNames)
    func repliesApartAreTheSameRecordsInTheSameOrder(_ name: String) throws {
        let together = try Self.records(name, repliesApart: false)
        let apart = try Self.records(name, repliesApart: true)
        // Every record of the reviewed expected file but its summary, so neither run can come back short.
        let expected = try String(contentsOfFile: Fixtures.companion(name, ".expected.jsonl"),
                                  encoding: .utf8).split(separator: "\n")
        let replies = expected.filter { $0.hasPrefix("{\"type\":\"reply\"") }.count
        #expect(together.count == expected.count - 1 && expected.count > 1)
        #expect(together.filter { $0.hasPrefix("reply apart ") }.count == replies)
        #expect(apart == together)
    }
}
