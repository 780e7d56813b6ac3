import Foundation
import PacketCapture
import TestSupport
import Testing

/// Each record names the frame (numbered from 1 in the file, as Wireshark numbers them) whose
/// packet completed it, so that a reply found in ftpscope's output is one "Go to packet" away
/// in Wireshark. The recordings in Captures/ were checked against tshark's frame numbers once
/// (README, `frame`), and their expected records pin them; here the oracle is the test's own
/// count of the packets it wrote.
@Suite struct FrameNumberTests {
    @Test(arguments: [UInt16(21), 2121])
    func recordsNameTheFrameThatCompletedThem(_ port: UInt16) throws {
        var c = Conversation(server: Endpoint(IPAddress("192.0.2.1")!, port))
        var expected: [String] = []
        c.handshake()
        c.server("220 Ready.\r\n"); expected.append("reply 220 \(c.packets.count)")
        c.client("USER anonymous\r\n"); expected.append("command USER \(c.packets.count)")
        // A multi-line reply in three segments: complete in the third.
        c.server("331-Anonymous login ok,\r\n331 send your address.\r\n", segment: 20)
        expected.append("reply 331 \(c.packets.count)")
        c.client("PASS me@\r\n"); expected.append("command PASS \(c.packets.count)")
        // The 230's first segment lost and sent again after its second: the retransmission
        // completes it.
        c.server("230 Logged in, welcome.\r\n", segment: 12)
        let firstOf230 = c.packets.count - 3
        let resent = c.packets[firstOf230]
        c.remove(at: firstOf230)
        c.insert(resent, at: c.packets.count)
        expected.append("reply 230 \(c.packets.count)")
        c.client("QUIT\r\n"); expected.append("command QUIT \(c.packets.count)")
        c.server("221 Bye.\r\n"); expected.append("reply 221 \(c.packets.count)")
        c.close()
        // Another session before it in the file, so that frames are the file's, not the session's.
        var other = Conversation(client: Endpoint(IPAddress("10.0.0.9")!, 50000), server: Endpoint(IPAddress("192.0.2.2")!, 21),
                                 start: 1_763_799_000_000_000_000)
        other.handshake(); other.server("220 Other.\r\n"); other.close()
        let path = CaptureFile.temporaryPath("frames-\(port).pcap")
        try CaptureFile.write(packets: other.packets + c.packets, linkType: .ethernet, to: path)
        let offset = other.packets.count
        for shards in ["1", "2"] {
            let r = try Fixtures.run(["analyze", "--format", "jsonl", "--commands", "--shards", shards, path])
            #expect(r.status == 0, "\(r.stderr)")
            let seen = r.stdout.split(separator: "\n").compactMap { line -> String? in
                guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      o["session"] as? String == "s2", let frame = o["frame"] as? Int else { return nil }
                switch o["type"] as? String {
                case "reply": return "reply \(o["code"] as? Int ?? 0) \(frame - offset)"
                case "command": return "command \(o["command"] as? String ?? "?") \(frame - offset)"
                default: return nil
                }
            }
            #expect(seen == expected, "port \(port), \(shards) shard(s)")
        }
    }

    /// A transfer names the frame of its command and the first and last frames that carried
    /// its data (Wireshark's `ftp.command-frame` and `ftp.command-response.first-frame-num` /
    /// `last-frame-num`): the data connection's handshake and closing carry none.
    @Test func aTransferNamesItsCommandAndDataFrames() throws {
        let server = Endpoint(IPAddress("192.0.2.1")!, 21), client = Endpoint(IPAddress("10.0.0.5")!, 40312)
        var ctl = Conversation(client: client, server: server)
        ctl.handshake(); ctl.server("220 Ready.\r\n")
        ctl.client("PASV\r\n"); ctl.server("227 Entering Passive Mode (192,0,2,1,19,137).\r\n")
        ctl.client("RETR big.bin\r\n")
        let command = ctl.packets.count
        ctl.server("150 Opening.\r\n")
        var data = Conversation(client: Endpoint(client.address, 40400), server: Endpoint(server.address, 5001), start: ctl.clock)
        data.handshake()
        data.serverBytes(Array(repeating: 0x61, count: 4000), segment: 1448)  // three segments
        data.ack(fromClient: true)
        data.close()
        ctl.clock = data.clock
        ctl.server("226 Done.\r\n"); ctl.client("QUIT\r\n"); ctl.server("221 Bye.\r\n"); ctl.close()
        let path = CaptureFile.temporaryPath("transfer-frames.pcap")
        try CaptureFile.write(packets: ctl.packets.prefix(command + 1) + data.packets + ctl.packets.dropFirst(command + 1),
                              linkType: .ethernet, to: path)
        let r = try Fixtures.run(["analyze", "--format", "jsonl", path])
        let session = try #require(r.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }.first { $0["type"] as? String == "session" })
        let t = try #require((session["transfers"] as? [[String: Any]])?.first)
        // The data connection's packets follow the 150: handshake (3), three data segments.
        let firstData = command + 1 + 3 + 1
        #expect(t["command_frame"] as? Int == command)
        #expect(t["data_first_frame"] as? Int == firstData && t["data_last_frame"] as? Int == firstData + 2)
        #expect(t["bytes"] as? Int == 4000)
    }
}
