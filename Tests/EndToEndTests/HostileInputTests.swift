import Foundation
import PacketCapture
import TestSupport
import Testing

/// Malformed and hostile captures through the real binary: each must finish in bounded time
/// and memory with the outcome asserted, never crash.
@Suite(.serialized) struct HostileInputTests {
    struct Measured { var result: Fixtures.Result; var seconds: Double; var peakMiB: Double }

    /// Under AddressSanitizer (scripts/test-asan) the binary carries shadow memory and a
    /// quarantine; the bounds scale by this factor there.
    let factor = Double(ProcessInfo.processInfo.environment["FTPSCOPE_TEST_RESOURCE_FACTOR"] ?? "1") ?? 1

    /// Runs ftpscope under /usr/bin/time to read its peak RSS.
    func measure(_ args: [String]) throws -> Measured {
        let timing = CaptureFile.temporaryPath("time.txt")
        let result = try Fixtures.run(executable: "/usr/bin/time", ["-f", "%e %M", "-o", timing, Fixtures.binary] + args)
        let parts = try String(contentsOfFile: timing, encoding: .utf8).split(separator: "\n").last!.split(separator: " ")
        return Measured(result: result, seconds: Double(parts[0])!, peakMiB: Double(parts[1])! / 1024)
    }

    func records(_ s: String) -> [[String: Any]] {
        s.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// A pcapng can state any 64-bit time. Times past what nanoseconds hold, and jumps of
    /// centuries between packets, once overflowed the latency of the next reply and crashed.
    @Test func timesBeyondAnyCaptureAreClampedNotFatal() throws {
        // Written as 2^64 − 4.5 ms in ns (the year 2554); 1 ms per packet, so the clock wraps to
        // 1970 between the greeting and the USER reply.
        var c = Conversation(start: -4_500_000)
        c.handshake()
        c.server("220 Ready\r\n")
        c.client("USER a\r\n"); c.server("331 p\r\n")
        c.client("QUIT\r\n"); c.server("221 bye\r\n")
        c.close()
        let path = CaptureFile.temporaryPath("far-times.pcapng")
        CaptureFile.writePcapng(c.packets, linkType: .ethernet, to: path)
        let run = try AnalysisRun.of(path)
        #expect(run.codes == [220, 331, 221])
        #expect(run.replies.allSatisfy { Timestamp.captureRange.contains($0.timestamp.nanoseconds) })
        #expect(run.replies.map(\.timestamp.nanoseconds).prefix(2) == [Timestamp.captureRange.upperBound, 500_000])
        let r = try Fixtures.run(["analyze", "--format", "jsonl", path])
        #expect(r.status == 0 && r.stdout.components(separatedBy: "\"type\":\"reply\"").count == 4, "\(r.stderr)")
        let text = try Fixtures.run(["analyze", "--format", "text", "--stream", path])
        #expect(text.status == 0 && text.stdout.contains("2116-"), "\(text.stderr)")
    }

    @Test func aHundredYearIdleTimeoutAtMostIsAccepted() throws {
        let r = try Fixtures.run(["analyze", "--idle-timeout", "99999999999", Fixtures.path("proftpd-ftplib.pcap")])
        #expect(r.status == 64 && r.stderr.contains("--idle-timeout must be at most"), "\(r.status) \(r.stderr)")
        let ok = try Fixtures.run(["analyze", "--idle-timeout", "3153600000", "--format", "jsonl", Fixtures.path("proftpd-ftplib.pcap")])
        #expect(ok.status == 0)
    }

    @Test func recordHeaderClaimingAHugeLength() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready\r\n"); c.client("SYST\r\n"); c.server("215 UNIX\r\n")
        let path = CaptureFile.temporaryPath("huge.pcap")
        try CaptureFile.write(packets: c.packets, linkType: .ethernet, to: path)
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        // A record header whose captured length is 2 GiB.
        data.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x7F] + [UInt8](repeating: 1, count: 64))
        try data.write(to: URL(fileURLWithPath: path))
        let m = try measure(["analyze", "--format", "jsonl", path])
        #expect(m.result.status == 2)
        #expect(m.result.stderr.hasPrefix("ftpscope: \(path): "))
        #expect(records(m.result.stdout).filter { $0["type"] as? String == "reply" }.count == 2)
        #expect(m.peakMiB < 64 * factor)
    }

    @Test func zeroLengthAndGarbagePacketsAreCountedAndSkipped() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready\r\n"); c.client("SYST\r\n"); c.server("215 UNIX\r\n")
        let path = CaptureFile.temporaryPath("zero.pcap")
        let w = try PcapFileWriter(path: path, linkType: .ethernet)
        for (i, p) in c.packets.enumerated() {
            w.write([], at: p.timestamp)
            w.write(Array(p.frame.prefix(20)), at: p.timestamp)           // cut inside the IP header
            var lie = p.frame; lie[14] = 0x4F                             // IHL says 60 bytes
            w.write(lie, at: p.timestamp)
            w.write(p.frame, at: p.timestamp)
            _ = i
        }
        w.close()
        let m = try measure(["analyze", "--format", "jsonl", path])
        #expect(m.result.status == 0)
        let recs = records(m.result.stdout)
        #expect(recs.filter { $0["type"] as? String == "reply" }.map { $0["code"] as? Int } == [220, 215])
        let summary = try #require(recs.last)
        let malformed = summary["malformed"] as? [String: Int] ?? [:]
        #expect(malformed.values.reduce(0, +) == 3 * c.packets.count)
    }

    @Test func megabyteLineAndHundredThousandLineReplies() throws {
        var c = Conversation()
        c.handshake()
        c.server("220 " + String(repeating: "A", count: 1 << 20) + "\r\n")
        c.client("HELP\r\n")
        var help = "214-start\r\n"
        for i in 0..<100_000 { help += " \(i)\r\n" }
        help += "214 end\r\n"
        c.server(help)
        c.client("STAT\r\n")
        c.server("211-never ends\r\n line\r\n")
        c.close()
        let path = CaptureFile.temporaryPath("big-replies.pcap")
        try CaptureFile.write(packets: c.packets, linkType: .ethernet, to: path)
        let m = try measure(["analyze", "--format", "jsonl", path])
        #expect(m.result.status == 0)
        let replies = records(m.result.stdout).filter { $0["type"] as? String == "reply" }
        #expect(replies.map { $0["code"] as? Int } == [220, 214, 211])
        #expect((replies[0]["anomalies"] as? [String]) == ["line too long"])
        #expect((replies[0]["lines"] as? [String])?.first?.count == 65_536)
        #expect(replies[1]["dropped_lines"] as? Int == 100_002 - 10_000)
        #expect((replies[1]["anomalies"] as? [String]) == ["too many lines in reply"])
        #expect((replies[2]["anomalies"] as? [String]) == ["unterminated multi-line reply"])
        #expect(m.seconds < 30 * factor && m.peakMiB < 128 * factor, "took \(m.seconds) s, \(m.peakMiB) MiB")
    }

    @Test func aMillionSYNsStayWithinTheConnectionCap() throws {
        let path = CaptureFile.temporaryPath("synflood.pcap")
        let w = try PcapFileWriter(path: path, linkType: .ethernet)
        var ftp = Conversation()
        ftp.handshake(); ftp.server("220 Ready\r\n")
        for p in ftp.packets { w.write(p.frame, at: p.timestamp) }
        let dst = Endpoint(IPAddress("192.0.2.80")!, 80)
        var frame = FrameBuilder.tcp(src: Endpoint(.v4(0x0A00_0000), 1), dst: dst, seq: 1, ack: 0, flags: [.syn])
        for i in 0..<1_000_000 {
            // Patch source address and port in place: 10.x.y.z:port, all distinct.
            let a = UInt32(0x0A00_0000) | UInt32(i >> 8)
            frame[26] = UInt8(a >> 24); frame[27] = UInt8(a >> 16 & 0xFF); frame[28] = UInt8(a >> 8 & 0xFF); frame[29] = UInt8(a & 0xFF)
            frame[34] = 0x80; frame[35] = UInt8(i & 0xFF)
            w.write(frame, at: Timestamp(nanoseconds: ftp.clock + Int64(i) * 100))
        }
        w.close()
        let m = try measure(["analyze", "--format", "jsonl", "--max-connections", "10000", path])
        #expect(m.result.status == 0)
        let summary = try #require(records(m.result.stdout).last)
        #expect(summary["evictions"] as? Int ?? 0 >= 990_000)
        #expect(summary["peak_connections"] as? Int == 10_000)
        #expect(records(m.result.stdout).first?["code"] as? Int == 220)
        #expect(m.peakMiB < 64 * factor && m.seconds < 60 * factor, "took \(m.seconds) s, \(m.peakMiB) MiB")
    }
}
