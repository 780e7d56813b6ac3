import Foundation
import FTPSession
import PacketCapture
import Reports
import TestSupport
import Testing

/// Reading a file ahead of the analyzer (so it can prefetch) must not change a record: every
/// real capture, a synthetic one with many connections interleaved, resets and data
/// connections, and a file cut short; always ahead, and switching in and out of reading ahead
/// as the number of open connections crosses the threshold.
@Suite struct ReadAheadTests {
    static func records(_ path: String, readAhead: Bool) throws -> ([String], CaptureSummary) {
        try records(path, from: readAhead ? 0 : nil)
    }

    static func records(_ path: String, from threshold: Int?) throws -> ([String], CaptureSummary) {
        let source = try PcapSource.openFile(path)
        let encoder = RecordEncoder()
        var lines: [String] = []
        var config = AnalyzerConfiguration()
        config.emitCommands = true
        let outcome = CaptureDriver.run(source, configuration: config, readAheadFrom: threshold, sink: EventSink { event in
            lines.append(String(decoding: encoder.encode(event), as: UTF8.self))
        })
        lines.append(String(decoding: encoder.encodeSummary(outcome.summary, files: 1, warnings: []), as: UTF8.self))
        return (lines, outcome.summary)
    }

    @Test(arguments: Fixtures.captureNames)
    func realCapture(_ name: String) throws {
        let ahead = try Self.records(Fixtures.path(name), readAhead: true)
        let inline = try Self.records(Fixtures.path(name), readAhead: false)
        #expect(!ahead.0.isEmpty)
        #expect(ahead.0 == inline.0)
    }

    @Test func interleavedConnectionsAndACutFile() throws {
        var conversations: [Conversation] = []
        for i in 0..<40 {
            var c = Conversation(client: Endpoint(.v4(0x0A00_0000 | UInt32(i)), UInt16(30_000 + i)),
                                 server: Endpoint(.v4(0xC000_0200 | UInt32(i % 3)), 21),
                                 start: 1_763_800_000_000_000_000 + Int64(i) * 1_000_000)
            c.handshake()
            c.server("220-Hello \(i)\r\n220 Ready\r\n")
            c.client("USER u\(i)\r\n"); c.server("331 Password please.\r\n")
            c.client("PASV\r\n"); c.server("227 Entering Passive Mode (192,0,2,\(i % 3),\(100 + i),\(i)).\r\n")
            if i % 3 == 0 { c.reset(fromClient: false) } else { c.client("QUIT\r\n"); c.server("221 Bye.\r\n"); c.close() }
            conversations.append(c)
        }
        let path = CaptureFile.temporaryPath("read-ahead.pcap")
        try CaptureFile.write(conversations, to: path)
        let ahead = try Self.records(path, readAhead: true)
        #expect(ahead.1.replies > 100)
        #expect(ahead.0 == (try Self.records(path, readAhead: false)).0)
        for threshold in [3, 10, 25] {
            #expect(ahead.0 == (try Self.records(path, from: threshold)).0, "from \(threshold) open connections")
        }

        // Cut mid-file: what came before the damage is the same either way.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = CaptureFile.temporaryPath("read-ahead-cut.pcap")
        try bytes.prefix(bytes.count * 2 / 3).write(to: URL(fileURLWithPath: cut))
        #expect(try Self.records(cut, readAhead: true).0 == (try Self.records(cut, readAhead: false)).0)
    }
}
