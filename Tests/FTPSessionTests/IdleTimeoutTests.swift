import FTPSession
import NetworkAddress
import PacketCapture
import TestSupport
import Testing

/// Sessions closed for idleness: a control connection is quiet for as long as a transfer runs,
/// and a download of an hour is no idle session.
@Suite struct IdleTimeoutTests {
    /// A download whose data connection moves bytes every 100 s for 2,000 s while the control
    /// connection says nothing (twice the 900 s idle timeout): the session stays open, and
    /// the 226 after it answers RETR.
    @Test func aSessionWaitingOnALongTransferIsNotIdle() throws {
        let client = IPAddress("10.0.0.5")!, server = IPAddress("192.0.2.1")!
        var c = Conversation.loggedIn(client: Endpoint(client, 40312), server: Endpoint(server, 21))
        c.client("PASV\r\n"); c.server("227 Entering Passive Mode (192,0,2,1,117,48).\r\n")
        var data = c.opening(client: Endpoint(client, 40500), server: Endpoint(server, 30000))
        c.client("RETR big.iso\r\n"); c.server("150 Opening BINARY mode data connection.\r\n"); c.ack(fromClient: true)
        data.clock = c.clock
        data.step = 100_000_000_000
        for _ in 0..<20 { data.serverBytes([UInt8](repeating: 1, count: 1000)); data.ack(fromClient: true) }
        data.step = 1_000_000
        data.close()
        c.clock = data.clock
        c.server("226 Transfer complete.\r\n")
        c.client("QUIT\r\n"); c.server("221 Bye.\r\n"); c.close()

        let path = CaptureFile.temporaryPath("long-transfer.pcap")
        try CaptureFile.write([c, data], to: path)
        let run = try AnalysisRun.of(path)
        try #require(run.sessions.count == 1)
        #expect(run.sessions[0].endReason == "fin")
        #expect(run.replies.map { "\($0.reply.code ?? 0) \($0.command ?? "-")" }
                == ["220 -", "331 USER", "230 PASS", "227 PASV", "150 RETR", "226 RETR", "221 QUIT"])
        #expect(run.sessions[0].transfers.map { "\($0.bytesToClient) \($0.outcome)" } == ["20000 completed"])
        #expect(run.summary.idleExpirations == 0)
    }
}
