import FTPSession
import NetworkAddress
import PacketCapture
import TestSupport
import Testing

/// A transfer between two servers that one client drives over two sessions (FXP): the source
/// server's 227 and the PORT the target server is given name the same endpoint, and the one
/// data connection, between the two servers, is both sessions' transfer.
@Suite struct ServerToServerTests {
    @Test func bothSessionsOfAServerToServerTransferHaveItsDataConnection() throws {
        let client = IPAddress("10.0.0.5")!, source = IPAddress("192.0.2.7")!, target = IPAddress("192.0.2.8")!
        var a = Conversation(client: Endpoint(client, 40001), server: Endpoint(source, 21))
        var b = Conversation(client: Endpoint(client, 40002), server: Endpoint(target, 21), start: a.clock + 500_000)
        a.handshake(); a.server("220 Source.\r\n"); a.client("USER anonymous\r\n"); a.server("230 In.\r\n")
        b.handshake(); b.server("220 Target.\r\n"); b.client("USER anonymous\r\n"); b.server("230 In.\r\n")
        a.clock = max(a.clock, b.clock)
        a.client("PASV\r\n"); a.server("227 Entering Passive Mode (192,0,2,7,117,48).\r\n")
        b.clock = a.clock
        b.client("PORT 192,0,2,7,117,48\r\n"); b.server("200 PORT command successful.\r\n")
        b.client("STOR copy.bin\r\n")
        // The target connects to the source's passive port.
        var data = Conversation(client: Endpoint(target, 51000), server: Endpoint(source, 30000), start: b.clock)
        data.handshake()
        b.clock = data.clock
        b.server("150 Ok to send data.\r\n")
        a.clock = b.clock
        a.client("RETR file.bin\r\n"); a.server("150 Opening BINARY mode data connection for file.bin (5000 bytes).\r\n")
        data.clock = a.clock
        data.serverBytes([UInt8](repeating: 3, count: 5000)); data.ack(fromClient: true); data.close()
        a.clock = data.clock; b.clock = data.clock + 100_000
        a.server("226 Transfer complete.\r\n"); b.server("226 Transfer complete.\r\n")
        a.client("QUIT\r\n"); a.server("221 Bye.\r\n"); a.close()
        b.client("QUIT\r\n"); b.server("221 Bye.\r\n"); b.close()

        let path = CaptureFile.temporaryPath("fxp.pcap")
        try CaptureFile.write([a, b, data], to: path)
        let run = try AnalysisRun.of(path)
        try #require(run.sessions.count == 2)
        let transfers = run.sessions.sorted { $0.session.server.address.description < $1.session.server.address.description }
            .flatMap(\.transfers)
        // The source's RETR: passive, the target the data client, its bytes sent to it.
        // The target's STOR: active, the bytes received from the source.
        #expect(transfers.map { "\($0.command ?? "-") \($0.mode ?? "-") \($0.bytesToClient) \($0.bytesToServer) \($0.sizeMatches.map(String.init) ?? "-")" }
                == ["RETR passive 5000 0 true", "STOR active 0 5000 -"])
        #expect(transfers.map { $0.dataConnection.map { "\($0.client) \($0.server)" } ?? "-" }
                == ["192.0.2.8:51000 192.0.2.7:30000", "192.0.2.7:30000 192.0.2.8:51000"])
        #expect(run.summary.dataConnections == 1)
        #expect(run.summary.anomalies == ["active address differs from client address": 1])
    }
}
