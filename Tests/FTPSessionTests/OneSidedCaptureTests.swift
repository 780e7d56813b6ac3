import FTPSession
import NetworkAddress
import PacketCapture
import TestSupport
import Testing

/// Captures that hold one side of a session (a tap on one fibre, asymmetric routing): the data
/// connection whose port was said on the side not captured is found by the hosts it joins, and
/// other connections between the same hosts are not taken for it.
@Suite struct OneSidedCaptureTests {
    private let clientHost = IPAddress("10.0.0.5")!, serverHost = IPAddress("192.0.2.1")!

    /// Server side only: the PORT is lost, its 200 is not. The server asks the client's ident
    /// port first (as proftpd may), then opens the data connection from port 20; the upload's
    /// bytes are known from the server's acknowledgments alone.
    @Test func theServersSideAloneFindsAnActiveUploadByItsHosts() throws {
        var c = Conversation.loggedIn(client: Endpoint(clientHost, 40312), server: Endpoint(serverHost, 21))
        c.client("TYPE I\r\n"); c.server("200 Binary.\r\n")
        var ident = c.opening(client: Endpoint(serverHost, 50113), server: Endpoint(clientHost, 113))
        ident.client("40312, 21\r\n"); ident.server("40312, 21 : ERROR : NO-USER\r\n"); ident.close()
        c.clock = ident.clock
        c.client("PORT 10,0,0,5,159,255\r\n"); c.server("200 PORT command successful.\r\n")
        var data = c.opening(client: Endpoint(serverHost, 20), server: Endpoint(clientHost, 40959))
        c.client("STOR up.bin\r\n"); c.server("150 Ok to send data.\r\n")
        c.carry([UInt8](repeating: 7, count: 3000), on: &data)
        c.server("226 Transfer complete.\r\n")
        c.client("QUIT\r\n"); c.server("221 Bye.\r\n"); c.close()

        let fromServerHost = [c, ident, data].flatMap(\.packets).filter { $0.frame.containsAddress(serverHost, asSourceOf: clientHost) }
        let run = try analyze(fromServerHost, "server-side-active.pcap")
        try #require(run.sessions.count == 1)
        #expect(run.summary.dataConnections == 1)
        #expect(run.sessions[0].transfers.map { "\($0.mode ?? "-") \($0.bytesToServer) \($0.uncapturedBytes) \($0.outcome)" }
                == ["active 3000 3000 completed"])
        #expect(run.sessions[0].transfers.first?.dataConnection.map { "\($0.server) \($0.client)" } == "192.0.2.1:20 10.0.0.5:40959")
        #expect(run.summary.anomalies["226 without data connection"] == nil)
    }

    /// Client side only: the 227 is not captured. The client opens a second control connection
    /// to the server's port 21 (not the data connection), then the data connection; the
    /// download's bytes are known from the client's acknowledgments alone.
    @Test func theClientsSideAloneFindsAPassiveDownloadByItsHosts() throws {
        var c = Conversation.loggedIn(client: Endpoint(clientHost, 40312), server: Endpoint(serverHost, 21))
        c.client("PASV\r\n"); c.server("227 Entering Passive Mode (192,0,2,1,117,48).\r\n")
        var other = Conversation(client: Endpoint(clientHost, 40400), server: Endpoint(serverHost, 21), start: c.clock)
        other.handshake(); other.server("220 Ready.\r\n"); other.client("QUIT\r\n"); other.server("221 Bye.\r\n"); other.close()
        c.clock = other.clock
        var data = c.opening(client: Endpoint(clientHost, 40500), server: Endpoint(serverHost, 30000))
        c.client("RETR f.bin\r\n"); c.server("150 Opening.\r\n")
        c.carry([UInt8](repeating: 9, count: 4000), on: &data)
        c.server("226 Done.\r\n"); c.ack(fromClient: true)
        c.client("QUIT\r\n"); c.server("221 Bye.\r\n"); c.close()

        let fromClientHost = [c, other, data].flatMap(\.packets).filter { $0.frame.containsAddress(clientHost, asSourceOf: serverHost) }
        let run = try analyze(fromClientHost, "client-side-passive.pcap")
        try #require(run.sessions.count == 2)
        #expect(run.summary.dataConnections == 1)
        let first = try #require(run.sessions.first { $0.session.client.port == 40312 })
        #expect(first.transfers.map { "\($0.command ?? "-") \($0.mode ?? "-") \($0.bytesToClient) \($0.uncapturedBytes) \($0.outcome)" }
                == ["RETR passive 4000 4000 pending"])
        #expect(first.transfers.first?.dataConnection.map { "\($0.client) \($0.server)" } == "10.0.0.5:40500 192.0.2.1:30000")
    }

    private func analyze(_ packets: [Conversation.Packet], _ name: String) throws -> AnalysisRun {
        let path = CaptureFile.temporaryPath(name)
        try CaptureFile.write(packets: packets.sorted { $0.timestamp < $1.timestamp }, linkType: .ethernet, to: path)
        return try AnalysisRun.of(path)
    }
}

private extension Array where Element == UInt8 {
    /// Whether this Ethernet frame's IPv4 packet goes from `source` to `destination`.
    func containsAddress(_ source: IPAddress, asSourceOf destination: IPAddress) -> Bool {
        guard count >= 34 else { return false }
        return IPAddress(bytes: Array(self[26..<30])) == source && IPAddress(bytes: Array(self[30..<34])) == destination
    }
}
