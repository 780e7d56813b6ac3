import FTPSession
import PacketCapture
import TestSupport
import Testing

@Suite struct AddressTests {
    private func passive(_ reply: String, server: String = "192.0.2.1", verb: String = "PASV") throws -> ReplyEvent {
        var c = Conversation(server: Endpoint(IPAddress(server)!, 21))
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("\(verb)\r\n"); c.server(reply + "\r\n")
        return try c.analyze("pasv.pcap").replies[1]
    }

    @Test(arguments: [
        "227 Entering Passive Mode (192,0,2,1,19,137).",
        "227 Entering Passive Mode 192,0,2,1,19,137",
        "227 =192,0,2,1,19,137",
        "227 Entering Passive Mode (192, 0, 2, 1, 19, 137) and some trailing text",
        "227 OK 192,0,2,1,19,137 (addr)",
    ])
    func every227VariantDecodes(_ reply: String) throws {
        let r = try passive(reply)
        #expect(r.passive == AnnouncedAddress(host: "192.0.2.1", port: 5001))
        #expect(r.anomalies.isEmpty)
    }

    @Test(arguments: [
        "227 Entering Passive Mode (192,0,2,1,19,256).",
        "227 Entering Passive Mode (300,0,2,1,19,137).",
        "227 Entering Passive Mode.",
        "227 Entering Passive Mode (192,0,2,1,19).",
    ])
    func invalid227TuplesAreNamed(_ reply: String) throws {
        let r = try passive(reply)
        #expect(r.passive == nil)
        #expect(r.anomalies == ["invalid 227 tuple"])
    }

    @Test func passiveAddressOtherThanTheServerIsFlagged() throws {
        let r = try passive("227 Entering Passive Mode (10,1,1,1,19,137).")
        #expect(r.passive == AnnouncedAddress(host: "10.1.1.1", port: 5001))
        #expect(r.anomalies == ["passive address differs from server address"])
    }

    @Test(arguments: ["|", "!", "#", "$", "x", "~"])
    func epsvAnyDelimiter(_ d: String) throws {
        let r = try passive("229 Entering Extended Passive Mode (\(d)\(d)\(d)6446\(d))", verb: "EPSV")
        #expect(r.passive == AnnouncedAddress(host: nil, port: 6446))
        #expect(r.anomalies == ["code not in catalog"], "229 is not in the source documents")
    }

    @Test func lpsvIPv4AndIPv6() throws {
        let v4 = try passive("228 Entering Long Passive Mode (4,4,192,0,2,1,2,19,137)", verb: "LPSV")
        #expect(v4.passive == AnnouncedAddress(host: "192.0.2.1", port: 5001))
        var c = Conversation(client: Endpoint(IPAddress("2001:db8::5")!, 40000), server: Endpoint(IPAddress("2001:db8::1")!, 21))
        c.handshake(); c.server("220 Ready.\r\n"); c.client("LPSV\r\n")
        c.server("228 Entering Long Passive Mode (6,16,32,1,13,184,0,0,0,0,0,0,0,0,0,0,0,1,2,19,137)\r\n")
        let v6 = try c.analyze("lpsv6.pcap").replies[1]
        #expect(v6.passive == AnnouncedAddress(host: "2001:db8::1", port: 5001))
        #expect(!v6.anomalies.contains("passive address differs from server address"))
    }

    @Test func activeCommandsAreDecodedAndChecked() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("PORT 10,0,0,5,19,137\r\n"); c.server("200 PORT ok\r\n")
        c.client("EPRT |1|10.0.0.5|6000|\r\n"); c.server("200 EPRT ok\r\n")
        c.client("EPRT |2|2001:db8::9|6001|\r\n"); c.server("200 EPRT ok\r\n")
        c.client("PORT 198,51,100,7,0,21\r\n"); c.server("200 PORT ok\r\n")
        c.client("LPRT 4,4,10,0,0,5,2,23,112\r\n"); c.server("200 LPRT ok\r\n")
        c.client("PORT 1,2,3\r\n"); c.server("501 bad\r\n")
        let run = try c.analyze("active.pcap")
        #expect(run.commands.map(\.active) == [
            AnnouncedAddress(host: "10.0.0.5", port: 5001), AnnouncedAddress(host: "10.0.0.5", port: 6000),
            AnnouncedAddress(host: "2001:db8::9", port: 6001), AnnouncedAddress(host: "198.51.100.7", port: 21),
            AnnouncedAddress(host: "10.0.0.5", port: 6000), nil])
        #expect(run.commands[0].anomalies.isEmpty)
        #expect(run.commands[3].anomalies == ["active address differs from client address"])
        #expect(run.replies[4].anomalies == ["active address differs from client address"], "the bounce attempt shows on the reply too")
        #expect(run.commands[5].anomalies == ["invalid PORT/EPRT/LPRT argument"])
        // Counted once per command, however many records show them.
        let flagged = run.commands.flatMap(\.anomalies)
        #expect(run.sessions[0].anomalies == Dictionary(flagged.map { ($0, 1) }, uniquingKeysWith: +))
        #expect(run.summary.anomalies == run.sessions[0].anomalies)
    }
}
