import Foundation
import PacketCapture
import TestSupport
import Testing

@Suite struct CommandLineTests {
    @Test func missingFileIsOneLineAndExit3() throws {
        let r = try Fixtures.run(["analyze", "/nonexistent/x.pcap"])
        #expect(r.status == 3)
        #expect(r.stderr == "ftpscope: /nonexistent/x.pcap: no such file\n")
    }

    @Test func notACaptureAndWrongMagic() throws {
        let path = CaptureFile.temporaryPath("text.pcap")
        FileManager.default.createFile(atPath: path, contents: Data("hello, not a capture at all\n".utf8))
        let r = try Fixtures.run(["analyze", path])
        #expect(r.status == 3)
        #expect(r.stderr.hasPrefix("ftpscope: \(path): not a pcap or pcapng capture"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func badFilterIsAUsageError() throws {
        let r = try Fixtures.run(["analyze", "--filter", "tcp port port", Fixtures.path("vsftpd-lftp-active.pcap")])
        #expect(r.status == 64)
        #expect(r.stderr.contains("bad filter 'tcp port port'"))
    }

    @Test func filterIsHandedToLibpcap() throws {
        let r = try Fixtures.run(["analyze", "--format", "jsonl", "--filter", "tcp port 9", Fixtures.path("vsftpd-lftp-active.pcap")])
        #expect(r.status == 0)
        #expect(r.stdout.split(separator: "\n").count == 1, "only the summary: no packet matched")
    }

    @Test func truncatedCaptureReportsWhatCameBeforeThenWarnsWithExit2() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("vsftpd-lftp-active.pcap")))
        let path = CaptureFile.temporaryPath("truncated.pcap")
        FileManager.default.createFile(atPath: path, contents: data.prefix(data.count / 2 + 3))
        let r = try Fixtures.run(["analyze", "--format", "jsonl", path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("capture is truncated"))
        #expect(r.stdout.components(separatedBy: "\"type\":\"reply\"").count > 5)
        #expect(r.stdout.contains("\"warnings\":[\"\(path): capture is truncated"))
    }

    @Test func jsonlIsTheDefaultWhenPipedAndTextOnRequest() throws {
        let j = try Fixtures.run(["analyze", Fixtures.path("vsftpd-lftp-active.pcap")])
        #expect(j.stdout.hasPrefix("{\"type\":\"reply\""))
        let t = try Fixtures.run(["analyze", "--format", "text", Fixtures.path("vsftpd-lftp-active.pcap")])
        #expect(t.stdout.contains("── session s1  127.0.0.1:"))
        #expect(t.stdout.contains("220  (greeting)                    ready"))
        #expect(t.stdout.contains("summary: 1 file(s)"))
    }

    @Test func hostileReplyTextNeverReachesTheTerminalRaw() throws {
        var c = Conversation()
        c.handshake()
        c.serverBytes(Array("220 \u{1B}[2J\u{1B}]0;owned\u{07} hi \u{9B}31m".utf8) + [0xC3, 0x28, 0x0D, 0x0A])
        c.client("SYST\r\n"); c.server("215 x\r\n")
        let path = CaptureFile.temporaryPath("hostile.pcap")
        try CaptureFile.write(packets: c.packets, linkType: .ethernet, to: path)
        let t = try Fixtures.run(["analyze", "--format", "text", path])
        #expect(!t.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x9B })
        #expect(t.stdout.contains("220 \\x1b[2J\\x1b]0;owned\\x07 hi \\u{9b}31m\u{FFFD}("))
        let j = try Fixtures.run(["analyze", "--format", "jsonl", path])
        #expect(j.stdout.contains("\"lines\":[\"220 \\u001b[2J\\u001b]0;owned\\u0007 hi \u{9B}31m\u{FFFD}(\"]"))
    }

    @Test func codesExplainsTheCatalog() throws {
        let r = try Fixtures.run(["codes", "227"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("进入被动模式") && r.stdout.contains("Entering Passive Mode"))
        let h = try Fixtures.run(["codes", "--protocol", "http", "403.14"])
        #expect(h.stdout.contains("拒绝目录列表"))
        let w = try Fixtures.run(["codes", "--protocol", "websocket", "1006"])
        #expect(w.stdout.contains("CLOSE_ABNORMAL"))
        let missing = try Fixtures.run(["codes", "299"])
        #expect(missing.status == 3 && missing.stderr.contains("not in the catalog"))
        let all = try Fixtures.run(["codes"])
        #expect(all.stdout.split(separator: "\n").count > 40)
    }

    @Test func severalFilesInParallelKeepFileOrder() throws {
        let files = Fixtures.captureNames.map(Fixtures.path)
        let serial = try Fixtures.run(["analyze", "--format", "jsonl"] + files)
        let parallel = try Fixtures.run(["analyze", "--format", "jsonl", "--jobs", "2"] + files)
        #expect(serial.status == 0 && parallel.status == 0)
        #expect(serial.stdout == parallel.stdout)
        #expect(serial.stdout.contains("\"session\":\"f2.s1\""))
        let dir = try Fixtures.run(["analyze", "--format", "jsonl", "--jobs", "2", Fixtures.captures.path])
        #expect(dir.stdout == serial.stdout)
    }
}
