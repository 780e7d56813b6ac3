import FTPSession
import NetworkAddress
import PacketCapture
import TestSupport
import Testing

@Suite struct PairingTests {
    @Test func banner120Then220AnswersNoCommandAndSetsStates() throws {
        var c = Conversation()
        c.handshake()
        c.server("120 Service ready in 2 minutes.\r\n")
        c.server("220 Ready.\r\n")
        c.client("USER bob\r\n"); c.server("331 Password please.\r\n")
        c.client("PASS hunter2\r\n"); c.server("230 Welcome.\r\n")
        c.client("QUIT\r\n"); c.server("221 Bye.\r\n")
        c.close()
        let run = try c.analyze("banner.pcap")
        #expect(run.codes == [120, 220, 331, 230, 221])
        #expect(run.replies.map(\.command) == [nil, nil, "USER", "PASS", "QUIT"])
        #expect(run.replies.map(\.state) == [.delayed, .ready, .user, .authenticated, .closed])
        #expect(run.replies[3].argument == Array("****".utf8), "PASS is masked")
        #expect(run.replies.allSatisfy { $0.anomalies.isEmpty })
        let s = try #require(run.sessions.first)
        #expect(s.user == "bob" && s.login == "success" && s.finalState == .closed && s.endReason == "fin")
    }

    /// Servers that answer with a line without a code ("SYST not supported", "99 PASV
    /// invalid" in Zeek's traces): the client took the line for its answer and went on, so it
    /// answers SYST, at its own time and frame, and every later reply its own command (before,
    /// the 227 answered SYST and QUIT was left unanswered). A line the real reply follows was
    /// noise before it; one the client never went on from, before the close, answers nothing.
    @Test func aLineWithoutACodeAnswersTheCommandWhenTheClientGoesOn() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("SYST\r\n")
        let answer = c.packets.count
        c.server("SYST not supported\r\n")
        c.client("PASV\r\n"); c.server("Hold on\r\n"); c.server("227 Entering Passive Mode (192,0,2,1,4,1).\r\n")
        c.client("NOOP\r\n"); c.server("... \u{1B}[2J\r\n")
        c.close()
        let run = try c.analyze("codeless.pcap")
        try #require(run.codes == [220, nil, nil, 227, nil])
        #expect(run.replies.map(\.command) == [nil, "SYST", nil, "PASV", nil])
        #expect(run.replies.map(\.anomalies) == [[], ["malformed reply line"], ["malformed reply line"], [],
                                                 ["malformed reply line"]])
        let codeless = run.replies[1]
        #expect(codeless.frame == answer + 1 && codeless.timestamp == c.packets[answer].timestamp)
        #expect(codeless.latencyMilliseconds == c.packets[answer].timestamp.milliseconds(since: c.packets[answer - 1].timestamp))
        #expect(run.replies[2].latencyMilliseconds == nil && run.replies[4].latencyMilliseconds == nil)
        #expect(run.replies.map(\.frame) == run.replies.map(\.frame).sorted())
        let s = try #require(run.sessions.first)
        #expect(s.unanswered.map(\.verb) == ["NOOP"])
        #expect(s.anomalies["command never answered"] == 1 && s.anomalies["malformed reply line"] == 3)
    }

    /// A line that is no command (a verb of 130 letters in Zeek's fake-long-commands trace, a
    /// word of other bytes) is still answered: its reply names the line's first word, cut at 32
    /// and made safe to write unescaped, where before it named nothing, like the greeting's.
    @Test func theReplyToALineThatIsNoCommandNamesItsFirstWord() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("TYP" + String(repeating: "e", count: 127) + "\r\n"); c.server("500 Unknown command.\r\n")
        c.client("x\"1\u{1B} ok\r\n"); c.server("500 Unknown command.\r\n")
        let run = try c.analyze("no-command.pcap")
        try #require(run.codes == [220, 500, 500])
        #expect(run.replies.map(\.command) == [nil, "TYP" + String(repeating: "E", count: 29) + "…", "X?1?"])
        #expect(run.replies[1].latencyMilliseconds != nil && run.replies[1].anomalies.isEmpty)
        #expect(run.commands.map(\.anomalies) == [["malformed command"], ["malformed command"]])
        #expect(run.commands.allSatisfy { $0.command.verb == nil })
    }

    /// A positive reply RFC 959 does not give the command it answers is named: a 230 to RETR
    /// and a 225 to a second RETR (Zeek's fake servers), a 227 to TYPE; the replies servers
    /// commonly give (200 to CWD, refusals to anything, any reply to SITE) are not. A transfer
    /// so answered is `unexpected`, not completed.
    @Test func aPositiveReplyTheCommandCannotGetIsNamed() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("USER a\r\n"); c.server("230 in\r\n")
        c.client("RETR f\r\n"); c.server("230_no_space\r\n")
        c.client("RETR g\r\n"); c.server("225 Response to RETR command\r\n")
        c.client("TYPE I\r\n"); c.server("227 Entering Passive Mode (192,0,2,1,4,1).\r\n")
        c.client("CWD /\r\n"); c.server("200 ok\r\n")
        c.client("PASV\r\n"); c.server("502 No.\r\n")
        c.client("SITE CHMOD 600 f\r\n"); c.server("200 done\r\n")
        let run = try c.analyze("unexpected.pcap")
        try #require(run.codes == [220, 230, 230, 225, 227, 200, 502, 200])
        let flagged = run.replies.map { $0.anomalies.contains("reply unexpected for command") }
        #expect(flagged == [false, false, true, true, true, false, false, false])
        #expect(run.sessions[0].anomalies["reply unexpected for command"] == 3)
        // Neither says a file moved.
        #expect(run.sessions[0].transfers.map { "\($0.outcome) \($0.finalCode ?? 0)" } == ["unexpected 230", "unexpected 225"])
    }

    @Test func showPasswordsRevealsThem() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n"); c.client("USER bob\r\n"); c.server("331 P\r\n")
        c.client("PASS hunter2\r\n"); c.server("230 ok\r\n")
        var config = AnalyzerConfiguration(); config.showPasswords = true
        let run = try c.analyze("showpass.pcap", configuration: config)
        #expect(run.replies[2].argument == Array("hunter2".utf8))
    }

    /// Five commands queued at once: each reply takes the oldest off the front of the queue,
    /// which must hand over its argument and leave the later ones whole.
    @Test func pipelinedCommandsInOneSegmentAreAnsweredInOrder() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("USER alice\r\nPASS b\r\nCWD /pub/one two\r\nSYST\r\nSIZE file.bin\r\n")
        c.server("331 need pass\r\n230 in\r\n250 ok\r\n215 UNIX Type: L8\r\n213 42\r\n")
        let run = try c.analyze("pipelined.pcap")
        #expect(run.replies.map(\.command) == [nil, "USER", "PASS", "CWD", "SYST", "SIZE"])
        #expect(run.replies.map(\.reply.code) == [220, 331, 230, 250, 215, 213])
        #expect(run.replies.map { $0.argument.map { String(decoding: $0, as: UTF8.self) } }
                == [nil, "alice", "****", "/pub/one two", nil, "file.bin"])
        #expect(run.replies.allSatisfy { $0.anomalies.isEmpty })
    }

    @Test func preliminaryReplyKeepsTheTransferCommandOpen() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("RETR f\r\n"); c.server("150 Opening (10 bytes)\r\n")
        c.server("226 Done\r\n")
        c.client("NOOP\r\n"); c.server("200 ok\r\n")
        let run = try c.analyze("prelim.pcap")
        #expect(run.replies.map(\.command) == [nil, "RETR", "RETR", "NOOP"])
        #expect(run.replies.map(\.state) == [.ready, .transfer, .ready, .ready])
        #expect(run.replies[2].anomalies.contains("226 without data connection"))
    }

    /// RFC 959 4.1.3: ABOR during a transfer gets the service command's 426 ("the service
    /// request terminated abnormally"), then its own 226. The 426 answers RETR (latency from
    /// the RETR), the 226 ABOR, and the transfer ends with the 426.
    @Test func aborDuringATransfer426AnswersTheTransferAnd226TheABOR() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("RETR big\r\n"); c.server("150 Opening\r\n")
        // Telnet IP and Synch (IAC IP IAC DM) precede ABOR as RFC 959 asks.
        c.clientBytes([0xFF, 0xF4, 0xFF, 0xF2] + Array("ABOR\r\n".utf8))
        c.server("426 Connection closed; transfer aborted.\r\n")
        c.server("226 Closing data connection.\r\n")
        c.client("NOOP\r\n"); c.server("200 NOOP ok\r\n")
        let run = try c.analyze("abor.pcap")
        #expect(run.replies.map(\.command) == [nil, "RETR", "RETR", "ABOR", "NOOP"])
        #expect(run.replies.map { $0.reply.code } == [220, 150, 426, 226, 200])
        #expect(run.replies.allSatisfy { !$0.anomalies.contains("reply without command") })
        #expect(run.sessions[0].transfers.first?.outcome == "aborted" && run.sessions[0].transfers.first?.finalCode == 426)
        #expect(run.sessions[0].unanswered.isEmpty)
    }

    /// lftp aborts a download (in MODE Z), closing the data connection, and proftpd answers
    /// with a single "226 Abort successful", no 426. The client cut the transfer short, so
    /// that 226 is the ABOR's and ends the transfer, aborted. Had the server finished sending
    /// first, a lone 226 would be the transfer's own (RFC 959's completed case) and the ABOR,
    /// which may have shared it, is not blamed for going unanswered. Neither is short by any
    /// fault of the server's. (Found on a real lftp run to proftpd.)
    @Test(arguments: [true, false])
    func aborAnsweredByOne226LeavesNothingBlamed(clientCutTheTransfer: Bool) throws {
        let client = IPAddress("10.0.0.5")!, server = IPAddress("192.0.2.1")!
        var c = Conversation(client: Endpoint(client, 40312), server: Endpoint(server, 21))
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("PASV\r\n"); c.server("227 Entering Passive Mode (192,0,2,1,117,48).\r\n")
        var data = c.opening(client: Endpoint(client, 40500), server: Endpoint(server, 30000))
        c.client("RETR big\r\n"); c.server("150 Opening BINARY mode data connection for big (27019 bytes)\r\n")
        if clientCutTheTransfer {
            data.clock = c.clock
            data.serverBytes([UInt8](repeating: 7, count: 12000)); data.reset(fromClient: true)
            c.clock = data.clock
        } else {
            c.carry([UInt8](repeating: 7, count: 12000), on: &data)
        }
        c.clientBytes([0xFF, 0xF4, 0xFF, 0xF2] + Array("ABOR\r\n".utf8))
        c.server("226 Abort successful\r\n")
        c.close()
        let path = CaptureFile.temporaryPath("abor-one-226-\(clientCutTheTransfer).pcap")
        try CaptureFile.write([c, data], to: path)
        let run = try AnalysisRun.of(path)
        #expect(run.replies.last.map { "\($0.reply.code ?? 0) \($0.command ?? "-")" } == (clientCutTheTransfer ? "226 ABOR" : "226 RETR"))
        let t = try #require(run.sessions.first?.transfers.first)
        #expect(t.outcome == "aborted" && t.finalCode == 226 && t.sizeMatches == false)
        #expect(run.summary.anomalies["transfer size differs from 150 announcement"] == nil)
        #expect(run.summary.anomalies["command never answered"] == nil)
        #expect(run.sessions[0].unanswered.isEmpty == clientCutTheTransfer)
    }

    /// The transfer ended as the ABOR went out: its own 226, then ABOR's 225 or 226 (RFC 959's
    /// first case, the service command already completed, answered as its reply arrives). The
    /// transfer completed: nothing was aborted, as vsftpd's "225 No transfer to ABOR." says.
    /// (Found on lftp's pget, which sends ABOR on each part's connection as the part is in.)
    @Test(arguments: ["225 No transfer to ABOR.", "226 ABOR command successful."])
    func aborAfterTheTransferEndedGetsItsOwnReply(_ aborReply: String) throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("RETR small\r\n"); c.server("150 Opening\r\n")
        c.client("ABOR\r\n")
        c.server("226 Transfer complete.\r\n"); c.server(aborReply + "\r\n")
        c.client("NOOP\r\n"); c.server("200 NOOP ok\r\n")
        let run = try c.analyze("abor-late.pcap")
        #expect(run.replies.map(\.command) == [nil, "RETR", "RETR", "ABOR", "NOOP"])
        let t = try #require(run.sessions.first?.transfers.first)
        #expect(t.finalCode == 226 && t.outcome == "completed" && run.sessions[0].unanswered.isEmpty)
        // Interrupted, the transfer closes with a 426 and stays aborted whatever ABOR gets.
        var cut = Conversation()
        cut.handshake(); cut.server("220 Ready.\r\n")
        cut.client("RETR big\r\n"); cut.server("150 Opening\r\n")
        cut.client("ABOR\r\n")
        cut.server("426 Failure writing network stream.\r\n"); cut.server(aborReply + "\r\n")
        let aborted = try cut.analyze("abor-cut.pcap")
        #expect(aborted.sessions.first?.transfers.first.map { "\($0.outcome) \($0.finalCode ?? 0)" } == "aborted 426")
    }

    @Test func unsolicited421IsNotAnAnomalyAndClosesTheSession() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("NOOP\r\n"); c.server("200 ok\r\n")
        c.server("421 Timeout.\r\n")
        let run = try c.analyze("421.pcap")
        #expect(run.replies[2].command == nil)
        #expect(run.replies[2].anomalies.isEmpty)
        #expect(run.replies[2].state == .closed)
    }

    @Test func replyWithoutCommandAndCommandBeforeBannerAreNamed() throws {
        var c = Conversation()
        c.handshake()
        c.client("USER early\r\n")
        c.server("220 Ready.\r\n331 pass?\r\n")
        c.server("200 nobody asked\r\n")
        let run = try c.analyze("unsolicited.pcap")
        #expect(run.commands[0].anomalies == ["command before banner"])
        #expect(run.replies.map(\.command) == [nil, "USER", nil])
        #expect(run.replies[2].anomalies == ["reply without command"])
    }

    @Test func renameAndRestartStates() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("USER a\r\n"); c.server("331 p\r\n"); c.client("PASS b\r\n"); c.server("230 ok\r\n")
        c.client("RNFR a.txt\r\n"); c.server("350 Ready for RNTO.\r\n")
        c.client("RNTO b.txt\r\n"); c.server("250 Renamed.\r\n")
        c.client("REST 100\r\n"); c.server("350 Restarting at 100.\r\n")
        let run = try c.analyze("rename.pcap")
        #expect(run.replies.map(\.state) == [.ready, .user, .authenticated, .rename, .authenticated, .restart])
    }

    @Test func repeatedLoginFailuresRaiseABruteForceHint() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        for i in 0..<3 {
            c.client("USER root\r\n"); c.server("331 p\r\n")
            c.client("PASS guess\(i)\r\n"); c.server("530 Login incorrect.\r\n")
        }
        let run = try c.analyze("brute.pcap")
        let failures = run.replies.filter { $0.reply.code == 530 }
        #expect(failures.map { $0.anomalies.contains("repeated login failures") } == [false, false, true])
        #expect(failures.allSatisfy { $0.state == .ready })
        #expect(run.sessions[0].login == "failed" && run.sessions[0].loginFailures == 3)
    }

    @Test func latencyIsTimeFromCommandToReply() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("SYST\r\n")
        c.step = 25_000_000
        c.ack(fromClient: false)
        c.server("215 UNIX\r\n")
        let run = try c.analyze("latency.pcap")
        let l = try #require(run.replies[1].latencyMilliseconds)
        #expect(abs(l - 26) < 0.01)
    }
}
