import Foundation
import FTPSession
import PacketCapture
import TestSupport
import Testing

@Suite struct SecurityTests {
    private func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

    /// On an implicit-TLS port the session counts TLS records from the first byte and parses
    /// none; a server there that speaks clear text from its first byte is read as usual.
    @Test func implicitTLSPortCountsRecordsOrReadsClearText() throws {
        var tls = Conversation(server: Endpoint(IPAddress("192.0.2.1")!, 990))
        tls.handshake()
        tls.clientBytes([0x16, 0x03, 0x01, 0x00, 0x03, 0x01, 0x02, 0x03])
        tls.serverBytes([0x16, 0x03, 0x03, 0x00, 0x02, 0x02, 0x00, 0x17, 0x03, 0x03, 0x00, 0x04] + Array("220 ".utf8))
        tls.close()
        let t = try tls.analyze("implicit.pcap")
        #expect(t.replies.isEmpty && t.commands.isEmpty)
        #expect(t.sessions.count == 1 && t.sessions[0].tls && t.sessions[0].tlsRecords == 3 && t.sessions[0].finalState == .closed)
        var clear = Conversation(server: Endpoint(IPAddress("192.0.2.1")!, 990))
        clear.handshake()
        clear.server("220 Plain FTP on 990.\r\n")
        clear.client("USER a\r\n"); clear.server("331 p\r\n")
        let c = try clear.analyze("implicit-clear.pcap")
        #expect(c.codes == [220, 331] && c.replies[1].command == "USER")
        #expect(!c.sessions[0].tls && c.sessions[0].tlsRecords == 0)
    }

    /// A server that ran a client's command line (`SITE EXEC`, as wu-ftpd allowed) is flagged
    /// on the reply that says so, as Zeek's FTP::Site_Exec_Success notice does; a refusal and
    /// other SITE commands are not.
    @Test func siteExecThatSucceededIsFlagged() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("USER bob\r\n"); c.server("331 Password.\r\n")
        c.client("PASS x\r\n"); c.server("230 Logged in.\r\n")
        c.client("SITE exec /bin/id\r\n"); c.server("200-uid=0(root) gid=0(root)\r\n200 (end of 'id')\r\n")
        c.client("SITE EXEC rm -rf /\r\n"); c.server("500 SITE EXEC is disabled.\r\n")
        c.client("SITE CHMOD 644 f\r\n"); c.server("200 SITE CHMOD command ok.\r\n")
        c.client("SITE  EXECUTE x\r\n"); c.server("200 ok\r\n")
        let run = try c.analyze("site-exec.pcap")
        #expect(run.replies.map(\.anomalies) == [[], [], [], ["SITE EXEC succeeded"], [], [], []])
        #expect(run.sessions.first?.anomalies == ["SITE EXEC succeeded": 1])
    }

    @Test func protectedRepliesSingleAndMultiLine() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("AUTH GSSAPI\r\n"); c.server("334 Using authentication type GSSAPI; ADAT must follow\r\n")
        c.client("ADAT Zm9v\r\n"); c.server("235 ADAT=YmFy\r\n")
        c.client("MIC \(b64("PWD\r\n"))\r\n"); c.server("631 \(b64("257 \"/home\" is current.\r\n"))\r\n")
        let payload = b64("250-Line one\r\n250 Done\r\n")
        let half = payload.count / 2
        c.client("ENC xyz\r\n")
        c.server("632-\(payload.prefix(half))\r\n632 \(payload.dropFirst(half))\r\n")
        c.client("CONF abc\r\n"); c.server("633 \(b64("\u{1}\u{2}opaque"))\r\n")
        c.client("MIC !!!\r\n"); c.server("631 not*base64\r\n")
        let run = try c.analyze("rfc2228.pcap")
        let p = run.replies.compactMap(\.protected)
        #expect(p.map(\.level.rawValue) == ["integrity", "confidentiality+integrity", "confidentiality", "integrity"])
        #expect(p[0].inner?.code == 257)
        #expect(p[0].payloadBytes == 25)
        #expect(p[1].inner?.code == 250 && p[1].inner?.lines.count == 2, "a multi-line protected reply is one reply")
        #expect(p[2].inner == nil && p[2].payloadBytes == 8)
        #expect(p[3].payloadBytes == nil)
        #expect(run.replies.last!.anomalies.contains("invalid protected reply payload"))
        #expect(run.replies.map(\.command) == [nil, "AUTH", "ADAT", "MIC", "ENC", "CONF", "MIC"])
    }

    @Test func authTLSEncryptsTheControlChannelWithoutGarbageReplies() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("AUTH TLS\r\n"); c.server("234 Proceed with negotiation.\r\n")
        // ClientHello, ServerHello+…, application data records: bytes that are not text.
        c.clientBytes([22, 3, 1, 0, 5, 1, 2, 3, 4, 5])
        c.serverBytes([22, 3, 3, 0, 4, 9, 9, 9, 9, 23, 3, 3, 0, 6, 0x32, 0x32, 0x30, 0x20, 0x0D, 0x0A])
        c.clientBytes([23, 3, 3, 0, 3, 0x51, 0x55, 0x49])
        let run = try c.analyze("authtls.pcap")
        #expect(run.codes == [220, 234])
        #expect(run.replies[1].state == .tls)
        let s = try #require(run.sessions.first)
        #expect(s.tls && s.finalState == .tls && s.tlsRecords == 4)
    }

    @Test func cccReturnsToClearText() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("AUTH TLS\r\n"); c.server("234 Go.\r\n")
        c.clientBytes([23, 3, 3, 0, 2, 1, 2])
        c.serverBytes([23, 3, 3, 0, 2, 1, 2])
        c.client("NOOP\r\n"); c.server("200 back in clear\r\n")
        let run = try c.analyze("ccc.pcap")
        #expect(run.codes == [220, 234, 200])
        #expect(run.replies[2].command == "NOOP")
        #expect(run.sessions[0].tlsRecords == 2, "records counted before CCC are kept")
    }
}
