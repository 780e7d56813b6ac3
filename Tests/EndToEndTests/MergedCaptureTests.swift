import Foundation
import NetworkAddress
import PacketCapture
import TestSupport
import Testing

/// `--merge`: files read as one capture, as a rotated capture (`tcpdump -C`/`-G`, `editcap -c`)
/// or captures of two links taken at once must be read to see their sessions whole.
@Suite struct MergedCaptureTests {
    /// Each part of a capture written to a file of its own, named so that name order is not
    /// time order (a ring buffer's names, `cap10` before `cap2`).
    private static func writeParts(of name: String, every count: Int) throws -> [String] {
        let parts = try PcapRecords(contentsOf: Fixtures.path(name)).parts(of: count)
        let suffix = name.hasSuffix(".pcapng") ? ".pcapng" : ".pcap"
        let paths = parts.indices.map { CaptureFile.temporaryPath("part\($0)" + suffix) }
        for (part, path) in zip(parts, paths) { #expect(part.write(to: path)) }
        return paths.reversed()
    }

    /// The summary of a merged run counts its files; everything else is the whole capture's.
    private static func asOneFile(_ output: String, files: Int) -> String {
        output.replacingOccurrences(of: "{\"type\":\"summary\",\"files\":\(files),", with: "{\"type\":\"summary\",\"files\":1,")
    }

    /// Every real recording cut into parts of seven packets: merged, in any order given, on one
    /// analyzer or split over two, the records are those of the recording read whole — sessions,
    /// TLS (the key-log recording's handshakes and records fall in different parts), transfers
    /// and their data connections.
    @Test(arguments: Fixtures.captureNames)
    func rotatedPartsMergeIntoTheWholeRecording(_ name: String) throws {
        let paths = try Self.writeParts(of: name, every: 7)
        #expect(paths.count > 2)
        let keys = Fixtures.keyLogArguments(name)
        let args = ["analyze", "--format", "jsonl", "--commands"] + keys
        let whole = try Fixtures.run(args + ["--jobs", "1", Fixtures.path(name)])
        #expect(whole.status == 0)
        for split in [["--jobs", "1"], ["--shards", "2"]] {
            let merged = try Fixtures.run(args + ["--merge"] + split + paths)
            #expect(merged.status == 0, "\(merged.stderr)")
            #expect(Self.asOneFile(merged.stdout, files: paths.count) == whole.stdout, "\(name) \(split)")
        }
        let text = try Fixtures.run(["analyze", "--format", "text", "--commands", "--merge"] + keys + paths)
        let wholeText = try Fixtures.run(["analyze", "--format", "text", "--commands"] + keys + [Fixtures.path(name)])
        #expect(text.stdout.replacingOccurrences(of: "summary: \(paths.count) file(s)", with: "summary: 1 file(s)") == wholeText.stdout)
        let report = try Fixtures.run(["report", "--merge"] + keys + paths)
        let wholeReport = try Fixtures.run(["report"] + keys + [Fixtures.path(name)])
        #expect(report.stdout.replacingOccurrences(of: "\(paths.count) capture file(s)", with: "1 capture file(s)") == wholeReport.stdout)
    }

    /// A real session recorded by `tcpdump -G 1` into a file per second of traffic: the
    /// greeting and login, a listing, an upload whose data and 226 fall in two files, and QUIT
    /// each in another file, the first file empty. Merged, every record is the reviewed one, on
    /// one analyzer and two; every reply the client logged is there in order; read apart, the
    /// files give the login alone.
    @Test(arguments: Fixtures.rotatedCaptureNames)
    func aRealRotatedCaptureReadAsOne(_ name: String) throws {
        let dir = Fixtures.path(name)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".pcap") }
        #expect(files.count >= 4)
        let expected = try String(contentsOfFile: dir + ".expected.jsonl", encoding: .utf8)
        for split in [["--jobs", "1"], ["--shards", "2"]] {
            let merged = try Fixtures.run(["analyze", "--merge", "--format", "jsonl", "--commands"] + split + [dir])
            #expect(merged.status == 0)
            let (actual, wanted) = (merged.stdout.split(separator: "\n"), expected.split(separator: "\n"))
            #expect(actual.count == wanted.count)
            for (i, (a, e)) in zip(actual, wanted).enumerated() { #expect(a == e, "record \(i + 1) of \(name) \(split)") }
        }
        let text = try Fixtures.run(["analyze", "--merge", "--format", "text", "--commands", dir], environment: ["NO_COLOR": "1"])
        #expect(text.stdout == (try String(contentsOfFile: dir + ".expected.txt", encoding: .utf8)))

        // The client's own log of every reply line, in order: the oracle independent of ftpscope.
        let logged = try String(contentsOfFile: dir + ".client.log", encoding: .utf8).split(separator: "\n").map(String.init)
        let replies = expected.split(separator: "\n").filter { $0.hasPrefix("{\"type\":\"reply\"") }
        let lines = try replies.flatMap { record in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(record.utf8)) as? [String: Any])
            return try #require(object["lines"] as? [String])
        }
        #expect(lines == logged)
        #expect(replies.count >= 10 && expected.contains("\"command\":\"STOR\"") && expected.contains("\"code\":221"))
        // The upload's 226 is in a later file than its STOR.
        // A file named twice, through the directory and on its own, is read and counted once.
        let twice = try Fixtures.run(["analyze", "--merge", "--format", "jsonl", "--commands", dir, dir + "/" + files[0]])
        #expect(twice.stdout == expected)
        let apart = try Fixtures.run(["analyze", "--format", "jsonl", "--jobs", "1", dir])
        #expect(apart.stdout.split(separator: "\n").count { $0.hasPrefix("{\"type\":\"reply\"") } < replies.count)
    }

    /// Packets dealt at random over three files, each file keeping its packets in their order
    /// (packets of the same instant stay together: no merge could tell their order apart): the
    /// merge puts back the recording whatever the interleaving, for every classic-pcap recording,
    /// in four seeded deals each.
    @Test(arguments: Fixtures.captureNames.filter { $0.hasSuffix(".pcap") })
    func packetsDealtOverFilesMergeBack(_ name: String) throws {
        let recording = try PcapRecords(contentsOf: Fixtures.path(name))
        let keys = Fixtures.keyLogArguments(name)
        let whole = try Fixtures.run(["analyze", "--format", "jsonl", "--commands", "--jobs", "1"] + keys + [Fixtures.path(name)])
        var random = SplitMix64(seed: UInt64(name.utf8.count))
        for deal in 0..<4 {
            var files = [PcapRecords](repeating: recording, count: 3)
            for k in files.indices { files[k].records = [] }
            var previous: ArraySlice<UInt8> = [], file = 0
            for record in recording.records {
                let time = record.header[0..<8]
                if time != previous { file = Int(random.next() % 3); previous = time }
                files[file].records.append(record)
            }
            let paths = files.indices.map { CaptureFile.temporaryPath("deal\(deal)-\($0).pcap") }
            for (f, path) in zip(files, paths) { #expect(f.write(to: path)) }
            let split = deal % 2 == 0 ? ["--jobs", "1"] : ["--shards", "2"]
            let merged = try Fixtures.run(["analyze", "--format", "jsonl", "--commands", "--merge"] + split + keys + paths)
            #expect(merged.status == 0)
            #expect(Self.asOneFile(merged.stdout, files: 3) == whole.stdout, "\(name), deal \(deal)")
        }
    }

    /// Two links captured at once: sessions interleaved in time, each file holding half of them.
    /// Merged in either order, they are the capture that held them all.
    @Test func overlappingCapturesMergeByTime() throws {
        func session(_ i: Int, link: FrameBuilder.Link = .ethernet()) -> Conversation {
            var c = Conversation(client: Endpoint(.v4(0x0A00_0000 | UInt32(i)), UInt16(40_000 + i)),
                                 server: Endpoint(.v4(0xC000_0201), 21), link: link, clientISN: UInt32(i * 7919),
                                 serverISN: UInt32(i * 104_729), start: 1_763_800_000_000_000_000 + Int64(i) * 37_000_000)
            c.step = 100_000_000 + Int64(i) * 1_000
            c.handshake()
            c.server("220-Welcome \(i)\r\n220 Ready\r\n")
            c.client("USER u\(i)\r\n"); c.server("331 Password please.\r\n")
            c.client("PASS p\r\n"); c.server("230 Logged in.\r\n")
            c.client("QUIT\r\n"); c.server("221 Bye.\r\n"); c.close()
            return c
        }
        let conversations = (0..<8).map { session($0) }
        let all = CaptureFile.temporaryPath("all.pcap"), even = CaptureFile.temporaryPath("even.pcap")
        let odd = CaptureFile.temporaryPath("odd.pcap")
        try CaptureFile.write(conversations, to: all)
        try CaptureFile.write(conversations.enumerated().filter { $0.offset % 2 == 0 }.map(\.element), to: even)
        try CaptureFile.write(conversations.enumerated().filter { $0.offset % 2 == 1 }.map(\.element), to: odd)
        let whole = try Fixtures.run(["analyze", "--format", "jsonl", all])
        #expect(whole.stdout.contains("\"session\":\"s8\""))
        for order in [[even, odd], [odd, even]] {
            let merged = try Fixtures.run(["analyze", "--format", "jsonl", "--merge"] + order)
            #expect(merged.status == 0)
            #expect(Self.asOneFile(merged.stdout, files: 2) == whole.stdout)
        }

        // The other link captured with another link type (Linux cooked, as `-i any` writes): each
        // file's packets are decoded as its own.
        let cooked = CaptureFile.temporaryPath("odd-cooked.pcap")
        try CaptureFile.write(stride(from: 1, to: 8, by: 2).map { session($0, link: .linuxSLL) }, to: cooked)
        // (Their frames are two bytes longer: only the summary's byte count differs.)
        let mixed = try Fixtures.run(["analyze", "--format", "jsonl", "--merge", even, cooked])
        let records = { (output: String) in output.split(separator: "\n").filter { !$0.hasPrefix("{\"type\":\"summary\"") } }
        #expect(mixed.status == 0 && records(mixed.stdout) == records(whole.stdout))
        #expect(mixed.stdout.contains("\"packets\":\(conversations.reduce(0) { $0 + $1.packets.count }),"))

        // Read side by side, never more files open than overlap; one at a time when rotated.
        let source = try MergedCapture(paths: [odd, even], filter: nil)
        var most = 0, count = 0
        while case .packet = try source.next() { most = max(most, source.filesOpen); count += 1 }
        #expect(most == 2 && count == conversations.reduce(0) { $0 + $1.packets.count })
        let rotated = try MergedCapture(paths: try Self.writeParts(of: "vsftpd-curl-passive.pcap", every: 5), filter: nil)
        var previous = Timestamp(nanoseconds: .min)
        most = 0
        while case .packet(let p) = try rotated.next() {
            most = max(most, rotated.filesOpen)
            #expect(p.timestamp >= previous)
            previous = p.timestamp
        }
        #expect(most == 1)
    }

    /// A part cut short (the file being written when the capture was copied) is damage read
    /// past: said on stderr and in the summary, exit 2, and the parts after it still read.
    @Test func damagedPartIsReadPast() throws {
        let name = "vsftpd-curl-passive.pcap"
        let paths = try Self.writeParts(of: name, every: 7)
        let total = try PcapRecords(contentsOf: Fixtures.path(name)).records.count
        let cut = paths[paths.count - 3]  // the third part in time
        let size = try #require(FileManager.default.attributesOfItem(atPath: cut)[.size] as? Int)
        #expect(truncate(cut, off_t(size - 10)) == 0)
        let merged = try Fixtures.run(["analyze", "--format", "jsonl", "--merge"] + paths)
        #expect(merged.status == 2)
        #expect(merged.stderr.contains(cut) && merged.stderr.contains("truncated"))
        #expect(merged.stdout.contains("\"packets\":\(total - 1),"))
        #expect(merged.stdout.contains("\"warnings\":[\"\(cut): capture is truncated"))
        // The last session, which begins after the cut, is whole.
        let whole = try Fixtures.run(["analyze", "--format", "jsonl", Fixtures.path(name)])
        let lastSession = try #require(whole.stdout.split(separator: "\n").last { $0.hasPrefix("{\"type\":\"session\"") })
        #expect(merged.stdout.contains(lastSession))
    }

    /// Each file is opened again when the merge reaches it, which a pipe cannot be.
    @Test func pipeCannotBeMerged() throws {
        let path = Fixtures.path("vsftpd-curl-passive.pcap")
        let r = try Fixtures.run(executable: "/bin/sh", ["-c", "'\(Fixtures.binary)' analyze --merge '\(path)' - < '\(path)'"])
        #expect(r.status == 3)
        #expect(r.stderr.hasPrefix("ftpscope: standard input: ") && r.stderr.contains("save it to a file first"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }
}

/// A small seeded generator: the same deals on every run.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
