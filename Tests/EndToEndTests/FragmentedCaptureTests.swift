import Foundation
import FTPSession
import PacketCapture
import Reports
import TestSupport
import Testing

/// A capture whose packets were fragmented on the way reports what the same capture unsplit
/// reports, record for record, through every driver: one analyzer, one reading ahead, and
/// the connections split over several analyzers.
@Suite struct FragmentedCaptureTests {
    /// Sessions with a long multi-line reply, a PASV and a listing's worth of bytes.
    static func conversations(v6: Bool) -> [Conversation] {
        (0..<12).map { i in
            let client = v6 ? Endpoint(IPAddress("2001:db8::\(i + 10)")!, UInt16(40_000 + i)) : Endpoint(.v4(0x0A00_0000 | UInt32(i)), UInt16(40_000 + i))
            let server = v6 ? Endpoint(IPAddress("2001:db8::1")!, 21) : Endpoint(IPAddress("192.0.2.1")!, 21)
            var c = Conversation(client: client, server: server, start: 1_763_800_000_000_000_000 + Int64(i) * 3_037_000)
            c.handshake()
            c.server("220 Ready\r\n")
            c.client("USER anonymous\r\n"); c.server("230 Logged in.\r\n")
            c.client("STAT /pub\r\n")
            c.server("213-Status follows:\r\n" + (0..<60).map { "-rw-r--r-- 1 0 0 \($0 * 37) Nov 24 08:08 file-\(i)-\($0).txt\r\n" }.joined() + "213 End of status\r\n")
            c.client("HELP\r\n"); c.server("214-Commands:\r\n" + String(repeating: " USER PASS", count: 200) + "\r\n214 Help OK.\r\n")
            c.client("QUIT\r\n"); c.server("221 Bye.\r\n")
            c.close()
            return c
        }
    }

    /// The records and summary through one analyzer (`readAhead` as `ReadAheadTests` takes it):
    /// every datagram whole, no gap.
    static func records(_ path: String, readAhead: Int?) throws -> [String] {
        let (lines, summary) = try ReadAheadTests.records(path, from: readAhead)
        #expect(summary.gaps == 0 && summary.ipFragmentsUnreassembled == 0)
        return lines.dropLast().map(withoutFrame)  // the summary line counts the fragments
    }

    /// A record without its frame number: a fragmented capture has more frames than the whole
    /// one, and each record names the frame that completed it there.
    static func withoutFrame<S: StringProtocol>(_ line: S) -> String {
        String(line).replacing(/,"frame":[0-9]+/, with: "")
    }

    @Test(arguments: [false, true])
    func fragmentedSessionsReportWhatWholeOnesDo(_ v6: Bool) throws {
        let whole = Self.conversations(v6: v6)
        let wholePath = CaptureFile.temporaryPath("whole-\(v6).pcap")
        try CaptureFile.write(whole, to: wholePath)
        let expected = try Self.records(wholePath, readAhead: nil)
        #expect(expected.count > 12 * 6)
        let cli = ["analyze", "--format", "jsonl", "--commands"]
        let expectedSplit = try Fixtures.run(cli + ["--shards", "2", wholePath]).stdout

        for reversed in [false, true] {
            let pieces = whole.map { var c = $0; c.fragment(size: 512, reversed: reversed); return c }
            let path = CaptureFile.temporaryPath("fragmented-\(v6)-\(reversed).pcap")
            try CaptureFile.write(pieces, to: path)
            #expect(try Self.records(path, readAhead: nil) == expected, "one analyzer, reversed \(reversed)")
            #expect(try Self.records(path, readAhead: 0) == expected, "reading ahead, reversed \(reversed)")
            let split = try Fixtures.run(cli + ["--shards", "2", path])
            #expect(split.status == 0)
            // The records the same; the summary says what was put together.
            let lines = split.stdout.split(separator: "\n")
            #expect(lines.dropLast().map(Self.withoutFrame) == expectedSplit.split(separator: "\n").dropLast().map(Self.withoutFrame),
                    "split, reversed \(reversed)")
            let summary = try #require(lines.last.map(String.init))
            let datagrams = whole.flatMap(\.packets).filter { Fragmentation.fragments(of: $0.frame, size: 512).count > 1 }.count
            #expect(datagrams >= 12 * 4)
            #expect(summary.contains("\"ip_datagrams_reassembled\":\(datagrams),") && summary.contains("\"ip_fragments_unreassembled\":0,"), "\(summary)")
        }
    }

    /// Without the fragments that carry the rest of a segment the datagram is never handed
    /// on: the bytes are a gap, counted, never a reply built from part of a datagram.
    @Test func aLostFragmentIsAGapNotAHalfReply() throws {
        var c = Self.conversations(v6: false)[0]
        c.fragment(size: 512)
        // The STAT reply's first datagram: its second fragment left out.
        let at = try #require(c.packets.indices.first { i in
            String(decoding: c.packets[i].frame, as: UTF8.self).contains("Status follows")
        })
        c.remove(at: at + 1)
        let run = try c.analyze("lost-fragment.pcap")
        #expect(run.summary.ipFragmentsUnreassembled == 2 && run.summary.gaps == 1)
        let stat = try #require(run.replies.first { $0.command == "STAT" })
        #expect(stat.anomalies.contains("reply cut by gap"))
        #expect(run.replies.map(\.command) == [nil, "USER", "STAT", "HELP", "QUIT"])
    }
}
