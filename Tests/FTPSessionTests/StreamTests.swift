import Crypto
import Foundation
import FTPSession
import PacketCapture
import TestSupport
import Testing

@Suite struct StreamTests {
    private func standard(server: Endpoint = Endpoint(IPAddress("192.0.2.1")!, 21), segment: Int = 1448,
                          link: FrameBuilder.Link = .ethernet()) -> Conversation {
        var c = Conversation(server: server, link: link)
        c.handshake()
        c.server("220-Welcome\r\n230 other codes do not end it\r\n 220 leading space\r\n2200 neither\r\n\r\n220-nor this\r\n220 Ready.\r\n", segment: segment)
        c.client("USER anonymous\r\n", segment: segment)
        c.server("331 Send password.\r\n", segment: segment)
        c.client("PASS me@\r\n", segment: segment)
        c.server("230 Logged in.\r\n", segment: segment)
        c.client("HELP\r\n", segment: segment)
        c.server("214-Commands:\r\n 200 USER PASS\r\n500 not an end\r\n214 End\r\n", segment: segment)
        c.close()
        return c
    }

    private let expectedCodes: [Int?] = [220, 331, 230, 214]

    @Test func multiLineRepliesEndOnlyAtTheirOwnCodeAndSpace() throws {
        let run = try standard().analyze("multiline.pcap")
        #expect(run.codes == expectedCodes)
        #expect(run.replies[0].reply.lines.count == 7)
        #expect(run.replies[3].reply.lines.count == 4)
    }

    @Test func oneByteSegmentsParseTheSame() throws {
        let run = try standard(segment: 1).analyze("onebyte.pcap")
        #expect(run.codes == expectedCodes)
        #expect(run.replyTexts == (try standard().analyze("ref.pcap")).replyTexts)
    }

    @Test(arguments: [FrameBuilder.Link.ethernet(vlans: [100]), .ethernet(vlans: [100, 200], qinq: true),
                      .linuxSLL, .linuxSLL2, .null, .raw])
    func everyLinkLayer(_ link: FrameBuilder.Link) throws {
        let run = try standard(link: link).analyze("link.pcap")
        #expect(run.codes == expectedCodes)
    }

    /// The same session inside each tunnel a mirror or carrier delivers: the same replies,
    /// with the inner addresses, and the tunnel's own endpoints nowhere.
    @Test(arguments: Encapsulation.allCases)
    func everyTunnel(_ tunnel: Encapsulation) throws {
        var c = standard(link: tunnel.carriesEthernet ? .ethernet(vlans: [7]) : .raw)
        c.encapsulate(tunnel)
        let run = try c.analyze("tunnel.pcap")
        #expect(run.codes == expectedCodes)
        #expect(run.replyTexts == (try standard().analyze("plain.pcap")).replyTexts)
        #expect(run.sessions.map { "\($0.session.client) \($0.session.server)" } == ["10.0.0.5:40312 192.0.2.1:21"])
        #expect(run.summary.notTCP == 0 && run.summary.notIP == 0)
    }

    @Test func pcapngAndNanosecondTimestamps() throws {
        let c = standard()
        let ng = CaptureFile.temporaryPath("ftp.pcapng")
        CaptureFile.writePcapng(c.packets, linkType: .ethernet, to: ng)
        let a = try AnalysisRun.of(ng)
        #expect(a.codes == expectedCodes)
        #expect(a.replies[0].timestamp == c.packets[9].timestamp || a.replies[0].timestamp.nanoseconds > 0)
        var nano = c
        nano.clock += 123
        let p = CaptureFile.temporaryPath("nano.pcap")
        var d = Conversation(); d.clock = 1_763_800_000_123_456_789; d.handshake(); d.server("220 hi\r\n")
        try CaptureFile.write([d], to: p, nanosecond: true)
        let n = try AnalysisRun.of(p)
        #expect(n.replies[0].timestamp.nanoseconds % 1000 == 789, "nanoseconds survive")
    }

    @Test func reorderedAndDuplicatedSegments() throws {
        var c = standard(segment: 7)
        let server = c.dataIndices(fromClient: false)
        c.swapAt(server[1], server[2])
        c.duplicate(server[4])
        c.swapAt(server[6], server[8])
        let run = try c.analyze("reorder.pcap")
        #expect(run.codes == expectedCodes)
        #expect(run.gaps.isEmpty)
    }

    @Test func lostSegmentGivesAGapAndParsingResumes() throws {
        var c = Conversation()
        c.handshake()
        c.server("220 Ready.\r\n")
        c.client("USER a\r\n"); c.server("331 p\r\n")
        c.client("PASS b\r\n"); c.server("230-Line one\r\n")
        let lost = c.packets.count
        c.server("230-Line two lost\r\n")
        c.server("230 done\r\n")
        c.client("SYST\r\n"); c.server("215 UNIX\r\n")
        c.ack(fromClient: true)
        c.remove(at: lost)
        let run = try c.analyze("gap.pcap")
        #expect(run.gaps.map(\.bytes) == [19])
        #expect(run.gaps[0].direction == .server)
        #expect(run.codes == [220, 331, 230, 215])
        #expect(run.replies[2].anomalies.contains("reply cut by gap"))
        #expect(run.replies[3].command == "SYST")
    }

    @Test func captureStartingMidSessionPicksUpAtAReplyStart() throws {
        var mid = Conversation()
        mid.handshake()
        mid.server("mode text\r\n")  // the tail of a line the capture joined halfway through
        mid.server("331 Send password.\r\n")
        mid.client("PASS x\r\n"); mid.server("230 ok\r\n")
        let path = CaptureFile.temporaryPath("mid.pcap")
        // Without the handshake the capture starts mid-session.
        try CaptureFile.write(packets: Array(mid.packets.dropFirst(3)), linkType: .ethernet, to: path)
        let run = try AnalysisRun.of(path)
        #expect(run.codes == [331, 230])
        #expect(run.replies[0].command == nil && run.replies[0].anomalies.isEmpty)
        #expect(run.replies[1].command == "PASS")
        #expect(run.sessions[0].startedMidstream)
    }

    @Test func ftpOnAnotherPortIsDetectedFromItsFirstLines() throws {
        let c = standard(server: Endpoint(IPAddress("192.0.2.1")!, 2121))
        #expect(try c.analyze("detect.pcap").codes == expectedCodes)
        var off = AnalyzerConfiguration(); off.detect = false
        #expect(try c.analyze("nodetect.pcap", configuration: off).replies.isEmpty)
        var port = off; port.controlPorts.insert(2121)
        #expect(try c.analyze("port.pcap", configuration: port).codes == expectedCodes)
    }

    @Test func nonFTPTrafficIsNotDetected() throws {
        var http = Conversation(server: Endpoint(IPAddress("192.0.2.1")!, 80))
        http.handshake()
        http.client("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        http.server("HTTP/1.1 200 OK\r\n\r\n")
        var smtp = Conversation(server: Endpoint(IPAddress("192.0.2.1")!, 25))
        smtp.handshake()
        smtp.server("220 mail ESMTP\r\n")
        smtp.client("EHLO me\r\n")
        smtp.server("250 ok\r\n")
        #expect(try http.analyze("http.pcap").replies.isEmpty)
        #expect(try smtp.analyze("smtp.pcap").replies.isEmpty, "SMTP greets with 220 too, but EHLO is not an FTP verb")
    }

    @Test func sequenceNumbersThatWrap() throws {
        var c = Conversation(clientISN: 0xFFFF_FFF0, serverISN: 0xFFFF_FFFA)
        c.handshake()
        c.server("220 Ready and wrapping around zero\r\n", segment: 5)
        c.client("NOOP\r\n"); c.server("200 ok\r\n")
        let run = try c.analyze("wrap.pcap")
        #expect(run.codes == [220, 200])
        #expect(run.gaps.isEmpty)
    }

    @Test func dataConnectionsAreCorrelatedWithTheirTransfer() throws {
        let server = Endpoint(IPAddress("192.0.2.1")!, 21)
        let client = Endpoint(IPAddress("10.0.0.5")!, 40312)
        var ctl = Conversation(client: client, server: server)
        ctl.handshake(); ctl.server("220 Ready.\r\n")
        ctl.client("PASV\r\n"); ctl.server("227 Entering Passive Mode (192,0,2,1,19,137).\r\n")
        var data = Conversation(client: Endpoint(client.address, 40400), server: Endpoint(server.address, 5001),
                                start: ctl.clock)
        data.handshake()
        ctl.clock = data.clock
        ctl.client("RETR file.bin\r\n"); ctl.server("150 Opening BINARY mode data connection (3000 bytes).\r\n")
        data.clock = ctl.clock
        data.serverBytes([UInt8](repeating: 7, count: 3000))
        data.duplicate(data.packets.count - 1)  // a retransmission is not counted twice
        data.close()
        ctl.clock = data.clock
        ctl.server("226 Transfer complete.\r\n")
        ctl.client("QUIT\r\n"); ctl.server("221 Bye\r\n"); ctl.close()
        let path = CaptureFile.temporaryPath("data.pcap")
        try CaptureFile.write([ctl, data], to: path)
        let run = try AnalysisRun.of(path)
        let t = try #require(run.sessions.first?.transfers.first)
        #expect(t.command == "RETR" && t.path == "file.bin" && t.mode == "passive")
        #expect(t.bytesToClient == 3000 && t.bytesToServer == 0)
        #expect(t.announcedSize == 3000 && t.sizeMatches == true && t.outcome == "completed" && t.finalCode == 226)
        #expect(run.replies.allSatisfy { $0.anomalies.isEmpty })
        #expect(run.summary.dataConnections == 1)
    }

    /// A transfer's type comes from the first bytes of the file: in order after the data
    /// connection's SYN, whatever order the segments arrive in, and not at all when the
    /// capture missed the SYN (it may have joined in the middle of the file).
    @Test(arguments: ["in order", "first two swapped", "no SYN"])
    func aTransferIsToldByItsFirstBytes(_ order: String) throws {
        let run = try passiveTransfer(command: "RETR logs.tar.gz", file: [0x1F, 0x8B, 0x08, 0x00] + [UInt8](repeating: 0x41, count: 2996),
                                      segment: 1000) { data, first in
            if order == "first two swapped" { data.swapAt(first, first + 1) }
            if order == "no SYN" { data.remove(at: 1); data.remove(at: 0) }
        }
        let t = try #require(run.sessions.first?.transfers.first)
        #expect(t.bytesToClient == 3000)
        #expect(t.mimeType == (order == "no SYN" ? nil : "application/x-gzip"))
    }

    /// `--hash`: a file's digests from its bytes put in order, whatever the capture did to
    /// the segments; none when a byte of it or its SYN is missing.
    @Test(arguments: ["in order", "reordered", "retransmitted", "segment lost", "no SYN", "reset"])
    func aTransferIsHashedWhole(_ damage: String) throws {
        let file = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var config = AnalyzerConfiguration()
        config.transferHashes = [.md5, .sha1, .sha256]
        let run = try damagedUpload(damage, command: "STOR upload.bin", file: file, configuration: config)
        let t = try #require(run.sessions.first?.transfers.first)
        #expect(t.bytesToServer == 5000 || damage == "segment lost")
        if damage == "segment lost" || damage == "no SYN" || damage == "reset" {
            #expect(t.digests == nil)
        } else {
            func hex<D: Digest>(_ d: D) -> String { d.map { String(format: "%02x", $0) }.joined() }
            #expect(t.digests == TransferDigests(md5: hex(Insecure.MD5.hash(data: file)), sha1: hex(Insecure.SHA1.hash(data: file)),
                                                 sha256: hex(SHA256.hash(data: file))))
        }
    }

    /// An upload of `file` in segments of 700 bytes, its data connection damaged as `damage`
    /// says: "in order" (none), "reordered", "retransmitted", "segment lost" (the fifth, bytes
    /// 2,800 to 3,499), "no SYN" (the handshake's first two packets), "reset" (instead of a close).
    func damagedUpload(_ damage: String, command: String, file: [UInt8], configuration: AnalyzerConfiguration) throws -> AnalysisRun {
        try passiveTransfer(command: command, preliminary: "150 Ok to send data.", file: file, upload: true, segment: 700,
                            reset: damage == "reset", configuration: configuration) { data, first in
            switch damage {
            case "reordered": data.swapAt(first, first + 3); data.swapAt(first + 1, first + 2)
            case "retransmitted": data.duplicate(first + 2); data.duplicate(first)
            case "segment lost": data.remove(at: first + 4)
            case "no SYN": data.remove(at: 1); data.remove(at: 0)
            default: break
            }
        }
    }

    /// One passive download of `size` bytes after the control lines `before` (and `restart`
    /// after PASV, where clients send REST), its 150 `preliminary`.
    private func download(before: [(String, String)], restart: Int? = nil, preliminary: String, size: Int) throws -> AnalysisRun {
        try passiveTransfer(before: before, restart: restart, preliminary: preliminary, file: [UInt8](repeating: 7, count: size))
    }

    /// One passive transfer after the control lines `before` (and `restart` after PASV, where
    /// clients send REST): `command`, its 150 `preliminary`, `file` sent by the server (by the
    /// client when `upload`) in segments of `segment` bytes, `damage` done to the data
    /// connection's packets (given the index of its first one with data), its close (or the
    /// sender's reset), then 226.
    func passiveTransfer(before: [(String, String)] = [], restart: Int? = nil, command: String = "RETR f.bin",
                                 preliminary: String = "150 Opening BINARY mode data connection.", file: [UInt8],
                                 upload: Bool = false, segment: Int = 1448, reset: Bool = false, senderFINLost: Bool = false,
                                 configuration: AnalyzerConfiguration = AnalyzerConfiguration(),
                                 damage: (inout Conversation, Int) -> Void = { _, _ in }) throws -> AnalysisRun {
        let server = Endpoint(IPAddress("192.0.2.1")!, 21)
        let client = Endpoint(IPAddress("10.0.0.5")!, 40312)
        var ctl = Conversation(client: client, server: server)
        ctl.handshake(); ctl.server("220 Ready.\r\n")
        for (command, reply) in before { ctl.client(command + "\r\n"); ctl.server(reply + "\r\n") }
        ctl.client("PASV\r\n"); ctl.server("227 Entering Passive Mode (192,0,2,1,19,137).\r\n")
        var data = Conversation(client: Endpoint(client.address, 40400), server: Endpoint(server.address, 5001), start: ctl.clock)
        data.handshake()
        ctl.clock = data.clock
        if let restart { ctl.client("REST \(restart)\r\n"); ctl.server("350 Restarting at \(restart).\r\n") }
        ctl.client(command + "\r\n"); ctl.server(preliminary + "\r\n")
        data.clock = ctl.clock
        if upload { data.clientBytes(file, segment: segment) } else { data.serverBytes(file, segment: segment) }
        if let first = data.dataIndices(fromClient: upload).first { damage(&data, first) }
        if reset { data.reset(fromClient: upload) } else { data.close() }
        // close() sends the server's FIN, the client's, then the server's last ACK.
        if senderFINLost { data.remove(at: data.packets.count - (upload ? 2 : 3)) }
        ctl.clock = data.clock
        ctl.server("226 Transfer complete.\r\n")
        let path = CaptureFile.temporaryPath("transfer.pcap")
        try CaptureFile.write([ctl, data], to: path)
        return try AnalysisRun.of(path, configuration: configuration)
    }

    /// The capture lost a transfer's last segments and the sender's FIN with them: only the
    /// receiver's acknowledgment tells how far the data went. Its last sequence number may be
    /// the FIN or a byte; the announced size tells which, and without one the least is counted
    /// (before, the transfer was 1,500 bytes short and "differs from 150 announcement").
    @Test(arguments: [("announced", false), ("announced", true), ("not announced", false)])
    func theEndOfATransferLostWithItsFINIsCountedFromTheAcknowledgment(_ announced: String, _ upload: Bool) throws {
        let preliminary = announced == "announced" ? "150 Opening BINARY mode data connection (3500 bytes)." : "150 Opening."
        let run = try passiveTransfer(command: upload ? "STOR f.bin" : "RETR f.bin", preliminary: preliminary,
                                      file: [UInt8](repeating: 0x41, count: 3500), upload: upload, segment: 1000,
                                      senderFINLost: true) { data, first in
            data.remove(at: first + 3); data.remove(at: first + 2)
        }
        let t = try #require(run.sessions.first?.transfers.first)
        let bytes = upload ? t.bytesToServer : t.bytesToClient
        #expect(bytes == 3500 && t.uncapturedBytes == 1500, "\(announced) \(upload): \(bytes) \(t.uncapturedBytes)")
        #expect(t.sizeMatches == (announced == "announced" ? true : nil))
        #expect(run.replies.allSatisfy { $0.anomalies.isEmpty })
    }

    /// Bytes of a transfer the capture did not show (Zeek's `missing_bytes`): a segment it
    /// lost, one its snap length cut, counted within `bytes` (the transfer moved them); a
    /// retransmission the capture did show fills the hole, and a packet seen twice or a
    /// reordering opens none.
    @Test(arguments: [("in order", 0), ("second lost", 1000), ("second lost, resent at the end", 0),
                      ("second and fourth lost", 1000 + 500), ("second cut to 100 bytes", 900),
                      ("first two swapped", 0), ("second seen twice", 0), ("second lost, resent cut to 500 bytes", 500)])
    func bytesTheCaptureDidNotShowAreCounted(_ damage: String, _ missing: Int) throws {
        let run = try passiveTransfer(preliminary: "150 Opening BINARY mode data connection (3500 bytes).",
                                      file: [UInt8](repeating: 0x41, count: 3500), segment: 1000) { data, first in
            switch damage {
            case "second lost": data.remove(at: first + 1)
            case "second lost, resent at the end":
                let lost = data.packets[first + 1]
                data.remove(at: first + 1)
                data.insert(lost, at: first + 3)
            case "second and fourth lost": data.remove(at: first + 3); data.remove(at: first + 1)
            case "second cut to 100 bytes": data.cutPayload(at: first + 1, keeping: 100)
            case "first two swapped": data.swapAt(first, first + 1)
            case "second seen twice": data.duplicate(first + 1)
            case "second lost, resent cut to 500 bytes":
                let lost = data.packets[first + 1]
                data.remove(at: first + 1)
                data.insert(lost, at: first + 3)
                data.cutPayload(at: first + 3, keeping: 500)
            default: break
            }
        }
        let t = try #require(run.sessions.first?.transfers.first)
        #expect(t.bytesToClient == 3500 && t.sizeMatches == true, "\(damage): \(t.bytesToClient)")
        #expect(t.uncapturedBytes == missing, "\(damage): \(t.uncapturedBytes)")
    }

    /// A capture of the control connection alone (filtered to port 21, as Zeek's
    /// cwd-navigation trace): the 150 announces a size, no data connection is there to compare
    /// it with, so whether it matched is not known — not false, as it was, with "announced"
    /// beside every transfer of the text.
    @Test func aTransferWithoutADataConnectionInTheCaptureHasNoSizeToCompare() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("PASV\r\n"); c.server("227 Entering Passive Mode (192,0,2,1,4,1).\r\n")
        c.client("RETR f.bin\r\n"); c.server("150 Opening BINARY mode data connection for f.bin (3000 bytes)\r\n")
        c.server("226 Transfer complete.\r\n")
        let run = try c.analyze("control-only.pcap")
        let t = try #require(run.sessions.first?.transfers.first)
        #expect(t.announcedSize == 3000 && t.bytes == 0 && t.dataConnection == nil)
        #expect(t.sizeMatches == nil && t.outcome == "completed")
        #expect(run.replies.last?.anomalies == ["226 without data connection"])
    }

    /// pure-ftpd's 150 gives no size; curl asked SIZE of the same file just before.
    @Test func aSizeReplyIsTheSizeToExpectWhenThe150GivesNone() throws {
        let run = try download(before: [("SIZE f.bin", "213 3000")], preliminary: "150 Accepted data connection", size: 3000)
        let t = try #require(run.sessions.first?.transfers.first)
        #expect(t.announcedSize == 3000 && t.sizeMatches == true)
        #expect(run.replies.allSatisfy { $0.anomalies.isEmpty })
        let short = try download(before: [("SIZE f.bin", "213 3000")], preliminary: "150 Accepted data connection", size: 2000)
        #expect(short.sessions.first?.transfers.first?.sizeMatches == false)
        #expect(short.replies.last?.anomalies == ["transfer size differs from 150 announcement"])
        // The 150's own size wins; a SIZE of another file says nothing of this one.
        let own = try download(before: [("SIZE f.bin", "213 9999")], preliminary: "150 Opening (3000 bytes)", size: 3000)
        #expect(own.sessions.first?.transfers.first?.announcedSize == 3000)
        let other = try download(before: [("SIZE g.bin", "213 3000")], preliminary: "150 Accepted data connection", size: 3000)
        #expect(other.sessions.first?.transfers.first?.announcedSize == nil)
    }

    /// Which file a transfer moved, as the server names it: its working directory from PWD's
    /// 257 and the CWDs and CDUPs after it, a listing without a name being of that directory.
    @Test func transfersNameTheFileAgainstTheWorkingDirectory() throws {
        let run = try download(before: [("PWD", "257 \"/home/bob\" is the current directory"), ("CWD pub/../data", "250 ok"),
                                        ("CWD sub", "250 ok"), ("CDUP", "200 ok"), ("CWD missing", "550 no")],
                               preliminary: "150 Opening (10 bytes)", size: 10)
        #expect(run.sessions.first?.transfers.first?.absolutePath == "/home/bob/data/f.bin")
        // Before any PWD the directory is unknown, unless the name is absolute.
        let unknown = try download(before: [("CWD pub", "250 ok")], preliminary: "150 Opening (10 bytes)", size: 10)
        #expect(unknown.sessions.first?.transfers.first?.absolutePath == nil)
        let absolute = try download(before: [("CWD /srv/ftp", "250 ok")], preliminary: "150 Opening (10 bytes)", size: 10)
        #expect(absolute.sessions.first?.transfers.first?.absolutePath == "/srv/ftp/f.bin")
    }

    /// Without PWD (tnftp, lftp and ftplib send none), the directory is known where the
    /// server's reply to CWD, CDUP or the login names it, and that beats the argument.
    @Test func transfersNameTheFileAgainstTheDirectoryARepliesStates() throws {
        func path(_ before: [(String, String)]) throws -> String? {
            try download(before: before, preliminary: "150 Opening (10 bytes)", size: 10).sessions.first?.transfers.first?.absolutePath
        }
        #expect(try path([("CWD newdir", "250 OK. Current directory is /newdir")]) == "/newdir/f.bin")
        #expect(try path([("CWD docs", "250 \"/pub/docs\" is the current directory.")]) == "/pub/docs/f.bin")
        #expect(try path([("PASS x", "230 OK. Current directory is /home/bob"), ("CWD data", "250 ok")]) == "/home/bob/data/f.bin")
        #expect(try path([("PASS x", "230 User \"/C=US/O=Grid/CN=bob\" logged in."), ("CWD data", "250 ok")]) == nil)
        #expect(try path([("PWD", "257 \"/home/bob\""), ("CDUP", "250 OK. Current directory is /srv")]) == "/srv/f.bin")
        // A multi-line reply says it last, after the directory's message.
        #expect(try path([("CWD x", "250-Welcome to x.\r\n250-Read README.\r\n250 OK. Current directory is /x")]) == "/x/f.bin")
        // A refusal moves nothing; a reply naming no directory leaves the argument to say it.
        #expect(try path([("PWD", "257 \"/a\""), ("CWD b", "550 OK. Current directory is /elsewhere")]) == "/a/f.bin")
        #expect(try path([("PWD", "257 \"/a\""), ("CWD b", "250 \"b\" is the current directory.")]) == "/a/b/f.bin")
    }

    /// A resumed download carries the size less the offset, and servers announce the whole
    /// size or the rest: either matches, in the summary and in the anomaly alike.
    @Test func aResumedDownloadMatchesItsAnnouncedSizeLessTheOffset() throws {
        let run = try download(before: [("TYPE I", "200 ok")], restart: 1000, preliminary: "150 Opening (3000 bytes)", size: 2000)
        let t = try #require(run.sessions.first?.transfers.first)
        #expect(t.restartOffset == 1000 && t.announcedSize == 3000 && t.bytes == 2000 && t.sizeMatches == true)
        #expect(run.replies.allSatisfy { $0.anomalies.isEmpty })
    }

    /// A resumed transfer starts inside the file: its first bytes are not the file's, and a
    /// digest of them is of part of it, so it has neither a type nor digests; the same
    /// transfer from the start has both.
    @Test(arguments: [0, 1000])
    func aResumedTransferHasNoTypeOrDigests(_ offset: Int) throws {
        var config = AnalyzerConfiguration()
        config.transferHashes = [.sha256]
        let run = try passiveTransfer(restart: offset, file: Array("%PDF-1.7\n".utf8) + [UInt8](repeating: 0x20, count: 2000),
                                      configuration: config)
        let t = try #require(run.sessions.first?.transfers.first)
        #expect(t.restartOffset == offset)
        #expect((t.mimeType, t.digests?.sha256 == nil) == (offset == 0 ? ("application/pdf", false) : (nil, true)))
    }

    @Test func floodOfSYNsStaysWithinTheConnectionCap() throws {
        var config = AnalyzerConfiguration(); config.maxConnections = 1000
        let path = CaptureFile.temporaryPath("flood.pcap")
        let writer = try PcapFileWriter(path: path, linkType: .ethernet)
        var ftp = Conversation()
        ftp.handshake(); ftp.server("220 Ready.\r\n")
        for p in ftp.packets { writer.write(p.frame, at: p.timestamp) }
        let dst = Endpoint(IPAddress("192.0.2.9")!, 80)
        for i in 0..<20_000 {
            let src = Endpoint(.v4(0x0A00_0000 | UInt32(i >> 12)), UInt16(10_000 + i & 0xFFF))
            writer.write(FrameBuilder.tcp(src: src, dst: dst, seq: UInt32(i), ack: 0, flags: [.syn]),
                         at: Timestamp(nanoseconds: ftp.clock + Int64(i) * 1000))
        }
        writer.close()
        let run = try AnalysisRun.of(path, configuration: config)
        #expect(run.summary.evictions + run.summary.idleExpirations >= 19_000, "evicted \(run.summary.evictions) expired \(run.summary.idleExpirations) connections \(run.summary.connections)")
        #expect(run.summary.peakConnections <= 1000)
        #expect(run.codes == [220], "the FTP session survives the flood")
        #expect(run.sessions.first?.endReason == "end of input")
    }
}

@Suite struct LimitTests {
    @Test func fullOutOfOrderBufferIsAGapAnAnomalyAndACount() throws {
        var c = Conversation()
        c.handshake()
        c.server("220 Ready\r\n")
        c.client("HELP\r\n")
        c.server("214-" + String(repeating: "x", count: 300) + "\r\n 1\r\n 2\r\n 3\r\n214 end\r\n", segment: 100)
        // Lose the first help segment: everything after it waits in a 150-byte buffer.
        let help = c.dataIndices(fromClient: false)[1]
        c.remove(at: help)
        c.close()
        var config = AnalyzerConfiguration(); config.maxBufferedBytesPerStream = 150
        let run = try c.analyze("bufcap.pcap", configuration: config)
        #expect(!run.gaps.isEmpty)
        #expect(run.sessions[0].anomalies["out-of-order buffer full"] ?? 0 >= 1)
        #expect(run.summary.bufferCapHits >= 1)
        #expect(run.codes.first == 220)
    }
}

/// A client port used again for a new connection while the capture still holds the old one
/// (its close was not captured): the new SYN starts a new session.
@Suite struct PortReuseTests {
    @Test func aNewSYNOnTheSameFourTupleStartsANewSession() throws {
        var first = Conversation(clientISN: 1000, serverISN: 5000)
        first.handshake(); first.server("220 Ready.\r\n")
        first.client("USER a\r\n"); first.server("331 p\r\n")
        // Its close is not in the capture.
        var second = Conversation(clientISN: 900_000, serverISN: 77_000, start: first.clock + 5_000_000_000)
        second.handshake(); second.server("220 Again.\r\n")
        second.client("USER b\r\n"); second.server("331 q\r\n")
        second.client("QUIT\r\n"); second.server("221 Bye.\r\n")
        second.close()
        let path = CaptureFile.temporaryPath("reuse.pcap")
        try CaptureFile.write([first, second], to: path)
        let run = try AnalysisRun.of(path)
        try #require(run.sessions.count == 2)
        #expect(run.sessions.map(\.endReason) == ["port reused", "fin"])
        #expect(run.sessions.map(\.user) == ["a", "b"])
        #expect(run.codes == [220, 331, 220, 331, 221])
        #expect(run.replies.map(\.command) == [nil, "USER", nil, "USER", "QUIT"])
        #expect(run.replies.allSatisfy { $0.anomalies.isEmpty })
        #expect(run.gaps.isEmpty)
    }

    /// A server that hands out the same passive port to a client that binds the same local
    /// port: the second data connection, on the ports of the first (whose close the capture
    /// missed), counts its own bytes for its own transfer.
    @Test func aDataConnectionOnTheSamePortsCountsForItsOwnTransfer() throws {
        let server = Endpoint(IPAddress("192.0.2.1")!, 21)
        let client = Endpoint(IPAddress("10.0.0.5")!, 40312)
        var ctl = Conversation(client: client, server: server)
        ctl.handshake(); ctl.server("220 Ready.\r\n")
        var data: [Conversation] = []
        for (i, size) in [3000, 1000].enumerated() {
            ctl.client("PASV\r\n"); ctl.server("227 Entering Passive Mode (192,0,2,1,19,137).\r\n")
            var d = Conversation(client: Endpoint(client.address, 40400), server: Endpoint(server.address, 5001),
                                 clientISN: UInt32(70_000 + 900_000 * i), serverISN: UInt32(3_000_000 + 800_000 * i), start: ctl.clock)
            d.handshake()
            ctl.clock = d.clock
            ctl.client("RETR f\(i)\r\n"); ctl.server("150 Opening (\(size) bytes).\r\n")
            d.clock = ctl.clock
            d.serverBytes([UInt8](repeating: 7, count: size))
            ctl.clock = d.clock
            ctl.server("226 Transfer complete.\r\n")
            data.append(d)  // its close is not in the capture
        }
        ctl.client("QUIT\r\n"); ctl.server("221 Bye\r\n"); ctl.close()
        let path = CaptureFile.temporaryPath("data-reuse.pcap")
        try CaptureFile.write([ctl] + data, to: path)
        let run = try AnalysisRun.of(path)
        let transfers = try #require(run.sessions.first?.transfers)
        #expect(transfers.map(\.bytesToClient) == [3000, 1000])
        #expect(transfers.map(\.sizeMatches) == [true, true])
        #expect(run.summary.dataConnections == 2)
    }

    /// A connection ruled out as FTP by its first bytes (HTTP on port 8080) whose close the
    /// capture missed, then FTP on the same addresses and ports: the FTP session is found.
    @Test func aConnectionRuledOutDoesNotHideTheNextOnItsPorts() throws {
        let server = Endpoint(IPAddress("192.0.2.1")!, 8080)
        var web = Conversation(server: server, clientISN: 1000, serverISN: 5000)
        web.handshake()
        web.client("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); web.server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        var ftp = Conversation(server: server, clientISN: 900_000, serverISN: 77_000, start: web.clock + 5_000_000_000)
        ftp.handshake(); ftp.server("220 FTP on 8080.\r\n")
        ftp.client("USER a\r\n"); ftp.server("331 p\r\n")
        ftp.client("QUIT\r\n"); ftp.server("221 Bye.\r\n")
        ftp.close()
        let path = CaptureFile.temporaryPath("ruled-out-reuse.pcap")
        try CaptureFile.write([web, ftp], to: path)
        let run = try AnalysisRun.of(path)
        #expect(run.sessions.count == 1 && run.sessions.first?.user == "a")
        #expect(run.codes == [220, 331, 221])
        #expect(run.summary.connections == 2)
    }

    /// With detection off, a connection on ports that are not FTP's is ignored from its first
    /// packet. When its close was missed and a passive transfer later uses its addresses and
    /// ports, the new SYN (another initial sequence number) starts the data connection; a SYN
    /// sent again (the same number) is still the ignored connection.
    @Test func anIgnoredConnectionDoesNotHideADataConnectionOnItsPorts() throws {
        let server = Endpoint(IPAddress("192.0.2.1")!, 21)
        let client = Endpoint(IPAddress("10.0.0.5")!, 40312)
        var other = Conversation(client: Endpoint(client.address, 40400), server: Endpoint(server.address, 5001),
                                 clientISN: 1000, serverISN: 5000)
        other.handshake()
        other.duplicate(0)
        other.clientBytes([UInt8](repeating: 1, count: 500)); other.serverBytes([UInt8](repeating: 2, count: 700))
        // Its close is not in the capture.
        var ctl = Conversation(client: client, server: server, start: other.clock + 5_000_000_000)
        ctl.handshake(); ctl.server("220 Ready.\r\n")
        ctl.client("PASV\r\n"); ctl.server("227 Entering Passive Mode (192,0,2,1,19,137).\r\n")
        var data = Conversation(client: Endpoint(client.address, 40400), server: Endpoint(server.address, 5001),
                                clientISN: 900_000, serverISN: 3_000_000, start: ctl.clock)
        data.handshake()
        ctl.clock = data.clock
        ctl.client("RETR f\r\n"); ctl.server("150 Opening (3000 bytes).\r\n")
        data.clock = ctl.clock
        data.serverBytes([UInt8](repeating: 7, count: 3000))
        data.close()
        ctl.clock = data.clock
        ctl.server("226 Transfer complete.\r\n")
        ctl.client("QUIT\r\n"); ctl.server("221 Bye\r\n"); ctl.close()
        let path = CaptureFile.temporaryPath("ignored-reuse.pcap")
        try CaptureFile.write([other, ctl, data], to: path)
        var off = AnalyzerConfiguration(); off.detect = false
        let run = try AnalysisRun.of(path, configuration: off)
        let transfers = try #require(run.sessions.first?.transfers)
        #expect(transfers.map(\.bytesToClient) == [3000])
        #expect(transfers.map(\.sizeMatches) == [true])
        #expect(run.summary.dataConnections == 1 && run.summary.connections == 3)
        #expect(run.codes == [220, 227, 150, 226, 221])
    }

    /// A SYN sent again before the server answered is the same connection.
    @Test func aRetransmittedSYNIsTheSameConnection() throws {
        var c = Conversation()
        c.handshake()
        c.duplicate(0)
        c.server("220 Ready.\r\n"); c.client("QUIT\r\n"); c.server("221 Bye.\r\n")
        c.close()
        let run = try c.analyze("syn-again.pcap")
        #expect(run.sessions.count == 1 && run.sessions[0].endReason == "fin")
        #expect(run.codes == [220, 221])
    }
}
