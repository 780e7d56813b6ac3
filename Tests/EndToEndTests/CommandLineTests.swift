import Crypto
import Foundation
import NetworkAddress
import PacketCapture
import TestSupport
import Testing

@Suite struct CommandLineTests {
    @Test func missingFileIsOneLineAndExit3() throws {
        let r = try Fixtures.run(["analyze", "/nonexistent/x.pcap"])
        #expect(r.status == 3)
        #expect(r.stderr == "ftpscope: /nonexistent/x.pcap: no such file\n")
    }

    /// A directory without captures is said, not passed over: alone it is nothing to analyze
    /// (exit 3, nothing on stdout); beside a capture, its warning is in the summary.
    @Test func directoryWithoutCapturesIsSaid() throws {
        let dir = CaptureFile.temporaryPath("no-captures")
        try FileManager.default.createDirectory(atPath: dir + "/nested", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: dir + "/notes.txt", contents: Data("not a capture\n".utf8)))
        let said = "ftpscope: \(dir): no capture files in it (.pcap, .pcapng or .cap, compressed with gzip, zstd or lz4 or not)\n"
        let alone = try Fixtures.run(["analyze", "--format", "jsonl", dir])
        #expect(alone.status == 3 && alone.stdout.isEmpty && alone.stderr == said, "\(alone.stderr)")
        let capture = Fixtures.path("proftpd-ftplib.pcap")
        let beside = try Fixtures.run(["analyze", "--format", "jsonl", dir, capture])
        let plain = try Fixtures.run(["analyze", "--format", "jsonl", capture])
        #expect(beside.status == 0 && beside.stderr == said)
        let summary = try #require(beside.stdout.split(separator: "\n").last)
        #expect(summary.contains("\"files\":1,") && summary.contains("\"warnings\":[\"\(dir): no capture files in it"))
        #expect(beside.stdout.split(separator: "\n").dropLast() == plain.stdout.split(separator: "\n").dropLast())
    }

    /// A capture of a link type not decoded is named, not read as a capture without FTP: on
    /// stderr, in the summary's warnings and `unsupported_link_types`, and in the text summary.
    @Test func aLinkTypeNotDecodedIsNamed() throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("proftpd-ftplib.pcap")))
        bytes.replaceSubrange(20..<24, with: [147, 0, 0, 0])   // DLT_USER0, little-endian as the file
        let path = CaptureFile.temporaryPath("user0.pcap")
        try bytes.write(to: URL(fileURLWithPath: path))
        let said = "\(path): 125 of 125 packets have a link type ftpscope does not decode (DLT 147) and were skipped"
        let json = try Fixtures.run(["analyze", "--format", "jsonl", path])
        #expect(json.status == 0 && json.stderr == "ftpscope: \(said)\n", "\(json.stderr)")
        #expect(json.stdout.contains("\"unsupported_link_type\":125,\"unsupported_link_types\":[147],\"warnings\":[\"\(said)\"]"))
        let text = try Fixtures.run(["analyze", "--format", "text", path])
        #expect(text.stdout.contains("packets not analyzed: 125 of a link type ftpscope does not decode (DLT 147)"))
    }

    @Test func notACaptureAndWrongMagic() throws {
        let path = CaptureFile.temporaryPath("text.pcap")
        #expect(FileManager.default.createFile(atPath: path, contents: Data("hello, not a capture at all\n".utf8)))
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

    /// A bad filter ends the run in one line, whichever the files and however many run at once.
    /// A file that cannot be read is said once, in file order, and left out: the files after it
    /// are still analyzed (they were not, once), the summary names it, and the exit code is 3,
    /// read one after another or in parallel, by `analyze` and by `report`.
    @Test(arguments: [["analyze", "--jobs", "1"], ["analyze", "--jobs", "2"], ["report", "--jobs", "1"], ["report", "--jobs", "2"]])
    func unreadableFilesAreSaidInFileOrderAndTheRestAnalyzed(_ command: [String]) throws {
        let captures = ["vsftpd-lftp-active.pcap", "proftpd-ftplib.pcap", "pureftpd-curl.pcap"].map { Fixtures.path($0) }
        let filtered = try Fixtures.run(command + ["--filter", "tcp port port"] + captures)
        #expect(filtered.status == 64)
        #expect(filtered.stderr == "ftpscope: bad filter 'tcp port port': can't parse filter expression: syntax error\n",
                "\(filtered.stderr)")
        let analyze = command[0] == "analyze"
        let format = analyze ? ["--format", "jsonl"] : ["--format", "json"]
        let missing = try Fixtures.run(command + format + [captures[0], "/nonexistent/a.pcap", captures[1],
                                                  "/nonexistent/b.pcap", captures[2]])
        #expect(missing.status == 3)
        #expect(missing.stderr == "ftpscope: /nonexistent/a.pcap: no such file\nftpscope: /nonexistent/b.pcap: no such file\n",
                "\(missing.stderr)")
        #expect(missing.stdout.contains("\"files\":3,"))
        #expect(missing.stdout.contains("\"warnings\":[\"/nonexistent/a.pcap: no such file\",\"/nonexistent/b.pcap: no such file\"]"))
        // Each file's sessions as they are when the files are read without the missing ones.
        let alone = try Fixtures.run(command + format + captures)
        #expect(alone.status == 0)
        func sessions(_ output: String, _ prefix: String) -> [String] {
            let records = analyze ? output.split(separator: "\n").filter { $0.contains("\"type\":\"session\"") }
                : output.components(separatedBy: "],\"summary\":")[0]
                    .components(separatedBy: "{\"type\":\"session\"").dropFirst().map { Substring($0) }
            return records.filter { $0.contains("\"session\":\"\(prefix).") }
                .map { $0.replacingOccurrences(of: "\"session\":\"\(prefix).", with: "\"session\":\"") }
        }
        for (read, named) in [("f1", "f1"), ("f2", "f3"), ("f3", "f5")] {
            let expected = sessions(alone.stdout, read)
            #expect(!expected.isEmpty && sessions(missing.stdout, named) == expected, "\(named)")
        }
    }

    /// Live options that once trapped (`--duration nan`, `1e20`) or silently became something
    /// else (`--buffer-size 4096` shifted to 0 bytes) are usage errors before any capture starts.
    @Test(arguments: [["--duration", "nan"], ["--duration", "1e20"], ["--duration=-1"], ["--buffer-size", "4096"],
                      ["--buffer-size=0"], ["--count", "0"]])
    func liveRejectsOptionsOutOfRange(_ option: [String]) throws {
        let r = try Fixtures.run(["live", "-i", "no-such-interface-0"] + option)
        #expect(r.status == 64, "\(option): \(r.status) \(r.stderr)")
        #expect(r.stderr.contains(option[0].split(separator: "=")[0] + " takes"), "\(r.stderr)")
    }

    @Test func tooManyShardsIsAUsageError() throws {
        let r = try Fixtures.run(["analyze", "--shards", "100000", Fixtures.path("vsftpd-lftp-active.pcap")])
        #expect(r.status == 64 && r.stderr.contains("--shards takes at most 64"), "\(r.status) \(r.stderr)")
        let ok = try Fixtures.run(["analyze", "--format", "jsonl", "--shards", "64", Fixtures.path("vsftpd-lftp-active.pcap")])
        #expect(ok.status == 0 && ok.stdout.contains("\"type\":\"summary\""))
    }

    /// `--hash` takes md5, sha1 and sha256, as a list or repeated; anything else is a usage
    /// error. Asked for, the digests reach the session records (split over analyzers too).
    @Test func hashOption() throws {
        let capture = Fixtures.path("vsftpd-ftplib-filetypes.pcap")
        let bad = try Fixtures.run(["analyze", "--hash", "sha3", capture])
        #expect(bad.status == 64 && bad.stderr.contains("--hash takes md5, sha1 or sha256, not 'sha3'"), "\(bad.stderr)")
        let log = try String(contentsOfFile: Fixtures.path("vsftpd-ftplib-filetypes.client.log"), encoding: .utf8)
        let exe = try #require(log.split(separator: "\n").first { $0.hasPrefix("# sha256 ") && $0.hasSuffix("setup.exe") })
        let digest = String(exe.split(separator: " ")[2])
        for args in [["--hash", "md5,sha256"], ["--hash", "sha1", "--hash", "sha256", "--shards", "2"]] {
            let r = try Fixtures.run(["analyze", "--format", "jsonl"] + args + [capture])
            #expect(r.status == 0)
            #expect(r.stdout.contains("\"sha256\":\"\(digest)\","), "\(args)")
        }
        let none = try Fixtures.run(["analyze", "--format", "jsonl", capture])
        #expect(!none.stdout.contains(digest) && none.stdout.contains("\"md5\":null,\"sha1\":null,\"sha256\":null"))
    }

    /// `--extract DIR` writes every file the real recording moved: each equal, byte for byte,
    /// to the file on the client's or server's disk (the MD5s the recording's client log took),
    /// with one analyzer and split over two. A directory that cannot be made is one line and exit 3.
    @Test func extractOption() throws {
        let capture = Fixtures.path("vsftpd-ftplib-filetypes.pcap")
        let log = try String(contentsOfFile: Fixtures.path("vsftpd-ftplib-filetypes.client.log"), encoding: .utf8)
        let md5s = log.split(separator: "\n").filter { $0.hasPrefix("# md5 ") }.map { line in
            let parts = line.split(separator: " ")
            return (name: String(parts[3]), md5: String(parts[2]))
        }
        #expect(md5s.count == 8)
        for shards in ["1", "2"] {
            let dir = CaptureFile.temporaryPath("extracted")
            let r = try Fixtures.run(["analyze", "--format", "jsonl", "--shards", shards, "--extract", dir, capture])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("\"files_extracted\":9,"))
            let names = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(names.count == 9, "the eight files and the listing: \(names)")
            for (name, md5) in md5s {
                let found = names.filter { $0.hasSuffix("-" + name) }
                #expect(found.count == 1, "\(name): \(names)")
                guard let file = found.first else { continue }
                let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + file))
                #expect(Insecure.MD5.hash(data: bytes).map { String(format: "%02x", $0) }.joined() == md5, "\(name)")
                #expect(r.stdout.contains("\"extracted\":\"\(dir)/\(file)\",\"extracted_whole\":true"), "\(name)")
            }
        }
        let missingParent = "/nonexistent-\(getpid())/files"
        let bad = try Fixtures.run(["analyze", "--extract", missingParent, capture])
        #expect(bad.status == 3 && bad.stdout.isEmpty)
        #expect(bad.stderr == "ftpscope: cannot create --extract directory \(missingParent): No such file or directory\n", "\(bad.stderr)")
        let notDirectory = try Fixtures.run(["analyze", "--extract", capture, capture])
        #expect(notDirectory.status == 3 && notDirectory.stderr.contains("is not a directory"), "\(notDirectory.stderr)")
    }

    /// A pcapng file whose interfaces differ in link type (the fuzzing seed: one session over
    /// Ethernet, bare IP, Linux cooked v1 and v2): libpcap stops at the second interface, ftpscope
    /// reads it whole, the same with one analyzer or split over two.
    @Test func pcapngWithInterfacesOfSeveralLinkTypes() throws {
        let path = Fixtures.root.appendingPathComponent("Tests/Fuzz/pipeline/seed-mixed-link-types.pcapng").path
        let one = try Fixtures.run(["analyze", "--format", "jsonl", "--shards", "1", path])
        let two = try Fixtures.run(["analyze", "--format", "jsonl", "--shards", "2", path])
        #expect(one.status == 0 && one.stderr.isEmpty, "\(one.stderr)")
        #expect(one.stdout == two.stdout)
        #expect(one.stdout.split(separator: "\n").map { $0.contains("\"type\":\"reply\"") }.filter { $0 }.count == 6)
        #expect(one.stdout.contains("\"unsupported_link_type\":0"))
    }

    /// A zstd-compressed capture, pcap or pcapng, reads as the capture itself; so do two frames
    /// one after the other (what `zstd -c a b` writes), here a capture split in two.
    @Test func zstdCompressedCaptures() throws {
        let dir = CaptureFile.temporaryPath("zst")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        for name in ["vsftpd-ftplib-filetypes.pcap", "pyftpdlib-ftplib-interfaces.pcapng"] {
            let plain = Fixtures.path(name), compressed = dir + "/" + name + ".zst"
            #expect(try Fixtures.run(executable: "/bin/sh", ["-c", "zstd -q -c '\(plain)' > '\(compressed)'"]).status == 0)
            let expected = try Fixtures.run(["analyze", "--format", "jsonl", plain])
            let r = try Fixtures.run(["analyze", "--format", "jsonl", compressed])
            #expect(r.status == 0 && r.stdout == expected.stdout, "\(name): \(r.stderr)")
        }
        let plain = Fixtures.path("vsftpd-ftplib-filetypes.pcap"), split = dir + "/split.zst"
        let halves = "(head -c 30000 '\(plain)' | zstd -q -c; tail -c +30001 '\(plain)' | zstd -q -c) > '\(split)'"
        #expect(try Fixtures.run(executable: "/bin/sh", ["-c", halves]).status == 0)
        let r = try Fixtures.run(["analyze", "--format", "jsonl", split])
        let whole = try Fixtures.run(["analyze", "--format", "jsonl", plain])
        #expect(r.status == 0 && r.stdout == whole.stdout, "\(r.stderr)")
    }

    /// `-` reads standard input (`tcpdump -w - | ftpscope analyze -`, as `tshark -r -`), and a
    /// pipe given as a file (`<(zcat …)`) reads too: every real capture gives what its file
    /// gives, compressed or not, split over analyzers or not; the pcapng file from two
    /// interfaces of different link types too, read again from the start the pipe kept.
    @Test func standardInputAndPipes() throws {
        let binary = Fixtures.binary
        func piped(_ command: String) throws -> Fixtures.Result {
            try Fixtures.run(executable: "/bin/bash", ["-c", command])
        }
        for name in Fixtures.captureNames {
            let file = Fixtures.path(name)
            let expected = try Fixtures.run(["analyze", "--format", "jsonl", file])
            let stdin = try piped("cat '\(file)' | '\(binary)' analyze --format jsonl -")
            let substituted = try piped("'\(binary)' analyze --format jsonl <(cat '\(file)')")
            #expect(stdin.status == expected.status && stdin.stdout == expected.stdout, "\(name): \(stdin.stderr)")
            #expect(substituted.status == expected.status && substituted.stdout == expected.stdout, "\(name): \(substituted.stderr)")
        }
        let file = Fixtures.path("vsftpd-ftplib-filetypes.pcap")
        let expected = try Fixtures.run(["analyze", "--format", "jsonl", file])
        for compress in ["gzip -c", "zstd -q -c", "lz4 -q -c"] {
            // Two members or frames one after the other, read from a pipe.
            let halves = "(head -c 30000 '\(file)' | \(compress); tail -c +30001 '\(file)' | \(compress))"
            let r = try piped("\(halves) | '\(binary)' analyze --format jsonl --shards 2 -")
            #expect(r.status == 0 && r.stdout == expected.stdout, "\(compress): \(r.stderr)")
        }
        let empty = try piped("'\(binary)' analyze - < /dev/null")
        #expect(empty.status != 0 && empty.stderr.hasPrefix("ftpscope: standard input: "), "\(empty.stderr)")
    }

    /// A pcapng file whose second interface differs and is described after `before` bytes of
    /// other traffic on the first: from a pipe, ftpscope reads it again from the start it kept
    /// (16 MiB), as it reads a file again; beyond that it says what to do.
    @Test(arguments: [1 << 20, 17 << 20])
    func pipedPcapngWithInterfacesDescribedLater(_ before: Int) throws {
        var filler = Conversation(server: Endpoint(IPAddress("192.0.2.9")!, 8080), link: .ethernet())
        filler.handshake()
        filler.clientBytes(Array(repeating: 0x41, count: before), segment: 60_000)
        filler.close()
        var ftp = Conversation(link: .linuxSLL, start: filler.clock)
        ftp.handshake(); ftp.server("220 Ready.\r\n")
        ftp.client("USER anonymous\r\n"); ftp.server("331 Password.\r\n")
        ftp.client("QUIT\r\n"); ftp.server("221 Bye.\r\n")
        ftp.close()
        let packets = filler.packets.map { (interface: 0, packet: $0) } + ftp.packets.map { (interface: 1, packet: $0) }
        let path = CaptureFile.temporaryPath("later.pcapng")
        CaptureFile.writePcapng(packets, interfaces: [CaptureFile.PcapngInterface(.ethernet), CaptureFile.PcapngInterface(.linuxSLL)],
                                upFront: 1, restBefore: filler.packets.count, to: path)
        let fromFile = try Fixtures.run(["analyze", "--format", "jsonl", path])
        #expect(fromFile.status == 0 && fromFile.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"reply\"") }.count == 3)
        let piped = try Fixtures.run(executable: "/bin/sh", ["-c", "cat '\(path)' | '\(Fixtures.binary)' analyze --format jsonl -"])
        if before < PcapSource.pipeStartKept {
            #expect(piped.status == 0 && piped.stdout == fromFile.stdout, "\(piped.stderr)")
        } else {
            #expect(piped.status == 2 && piped.stderr.contains("a pipe keeps only its first 16 MiB: save it to a file and analyze that"), "\(piped.stderr)")
            #expect(piped.stdout.contains("\"packets\":\(filler.packets.count),"), "\(piped.stdout)")
        }
    }

    /// An lz4-compressed capture (what `lz4` and Wireshark write), pcap or pcapng, reads as the
    /// capture itself, found in a directory too; so do two frames one after the other and a
    /// skippable frame before them. One cut short is a truncated capture (exit 2) with the blocks
    /// before the cut reported.
    @Test func lz4CompressedCaptures() throws {
        let dir = CaptureFile.temporaryPath("lz4")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        func sh(_ command: String) throws { #expect(try Fixtures.run(executable: "/bin/sh", ["-c", command]).status == 0, "\(command)") }
        for name in ["vsftpd-ftplib-filetypes.pcap", "pyftpdlib-ftplib-interfaces.pcapng"] {
            let plain = Fixtures.path(name), compressed = dir + "/" + name + ".lz4"
            try sh("lz4 -q -c '\(plain)' > '\(compressed)'")
            let expected = try Fixtures.run(["analyze", "--format", "jsonl", plain])
            let r = try Fixtures.run(["analyze", "--format", "jsonl", compressed])
            #expect(r.status == 0 && r.stdout == expected.stdout, "\(name): \(r.stderr)")
        }
        let both = try Fixtures.run(["analyze", "--format", "jsonl", "--jobs", "1", dir])
        #expect(both.status == 0 && both.stdout.contains("\"files\":2,"), "\(both.stderr)")
        let plain = Fixtures.path("vsftpd-ftplib-filetypes.pcap")
        let whole = try Fixtures.run(["analyze", "--format", "jsonl", plain])
        // A skippable frame (magic 0x184D2A50, four bytes of length, its bytes), then the capture
        // in two frames.
        let framed = dir + "/framed.bin"
        try sh("(printf 'P*M\\030\\004\\000\\000\\000abcd'; head -c 30000 '\(plain)' | lz4 -q -c; tail -c +30001 '\(plain)' | lz4 -q -c) > '\(framed)'")
        let r = try Fixtures.run(["analyze", "--format", "jsonl", framed])
        #expect(r.status == 0 && r.stdout == whole.stdout, "\(r.stderr)")
        // 64 KiB blocks, cut three quarters in: the blocks before the cut, then a truncation.
        let fragments = Fixtures.path("vsftpd-ftplib-fragments.pcap"), blocks = dir + "/blocks.bin", cut = dir + "/cut.bin"
        try sh("lz4 -B4 -q -c '\(fragments)' > '\(blocks)'")
        let compressed = try Data(contentsOf: URL(fileURLWithPath: blocks))
        try compressed.prefix(compressed.count * 3 / 4).write(to: URL(fileURLWithPath: cut))
        let expected = try Fixtures.run(["analyze", "--format", "jsonl", fragments])
        let truncated = try Fixtures.run(["analyze", "--format", "jsonl", cut])
        #expect(truncated.status == 2 && truncated.stderr.contains("capture is truncated"), "\(truncated.stderr)")
        let replies = truncated.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"reply\"") }
        #expect(replies.count > 5 && expected.stdout.hasPrefix(replies.joined(separator: "\n")))
    }

    /// A compressed stream damaged inside (a byte changed in the middle, the checksums then
    /// wrong) says it is the compression that is damaged, not the capture, after the replies
    /// the blocks before the damage held. (gzip and zstd check the whole stream at its end, so
    /// the damaged block itself may be read before the error shows.)
    @Test(arguments: ["gzip -c", "zstd -q -c", "lz4 -B4 -q -c"])
    func damagedCompressedStream(_ compress: String) throws {
        let file = Fixtures.path("vsftpd-ftplib-fragments.pcap")
        let expected = try Fixtures.run(["analyze", "--format", "jsonl", file])
        let path = CaptureFile.temporaryPath("damaged.bin")
        #expect(try Fixtures.run(executable: "/bin/sh", ["-c", "\(compress) '\(file)' > '\(path)'"]).status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0x55
        try bytes.write(to: URL(fileURLWithPath: path))
        let r = try Fixtures.run(["analyze", "--format", "jsonl", path])
        let kind = compress.split(separator: " ")[0]
        #expect(r.status == 2 && r.stderr.contains("read error (the \(kind) stream is damaged: "), "\(r.stderr)")
        let replies = { (out: String) in out.split(separator: "\n").filter { $0.contains("\"type\":\"reply\"") } }
        let same = zip(replies(r.stdout), replies(expected.stdout)).prefix { $0 == $1 }.count
        #expect(same >= 10, "\(same) replies as in the capture")
    }

    /// A gzip-compressed capture reads as the capture itself, found in a directory too; one cut
    /// short inside its data is a truncated capture (exit 2) with what came before reported.
    @Test func gzipCompressedCaptures() throws {
        let dir = CaptureFile.temporaryPath("gz")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        let plain = Fixtures.path("vsftpd-ftplib-filetypes.pcap")
        let compressed = dir + "/filetypes.pcap.gz"
        let gzip = try Fixtures.run(executable: "/bin/sh", ["-c", "gzip -c '\(plain)' > '\(compressed)'"])
        #expect(gzip.status == 0)
        let expected = try Fixtures.run(["analyze", "--format", "jsonl", plain])
        let fromFile = try Fixtures.run(["analyze", "--format", "jsonl", compressed])
        let fromDirectory = try Fixtures.run(["analyze", "--format", "jsonl", dir])
        #expect(fromFile.status == 0 && fromFile.stdout == expected.stdout, "\(fromFile.stderr)")
        #expect(fromDirectory.status == 0 && fromDirectory.stdout == expected.stdout, "\(fromDirectory.stderr)")
        let whole = try Data(contentsOf: URL(fileURLWithPath: compressed))
        let cut = dir + "/cut.gz"
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: cut))
        let r = try Fixtures.run(["analyze", "--format", "jsonl", cut])
        #expect(r.status == 2 && r.stderr.contains("capture is truncated"), "\(r.stderr)")
        let replies = r.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"reply\"") }
        #expect(replies.count > 5 && expected.stdout.hasPrefix(replies.joined(separator: "\n")))
        // Compressed, from two interfaces of different link types, filtered: the second
        // interface's session alone, read by the fallback through zlib.
        let interfaces = Fixtures.path("pyftpdlib-ftplib-interfaces.pcapng")
        let mixed = dir + "/interfaces.pcapng.gz"
        #expect(try Fixtures.run(executable: "/bin/sh", ["-c", "gzip -c '\(interfaces)' > '\(mixed)'"]).status == 0)
        let filter = ["--filter", "tcp port 2109 or portrange 30110-30119"]
        let filtered = try Fixtures.run(["analyze", "--format", "jsonl"] + filter + [mixed])
        let uncompressed = try Fixtures.run(["analyze", "--format", "jsonl"] + filter + [interfaces])
        #expect(filtered.status == 0 && filtered.stdout == uncompressed.stdout)
        #expect(filtered.stdout.split(separator: "\n").filter { $0.contains("\"type\":\"reply\"") }.count == 12)
    }

    @Test func filterIsHandedToLibpcap() throws {
        let r = try Fixtures.run(["analyze", "--format", "jsonl", "--filter", "tcp port 9", Fixtures.path("vsftpd-lftp-active.pcap")])
        #expect(r.status == 0)
        #expect(r.stdout.split(separator: "\n").count == 1, "only the summary: no packet matched")
    }

    @Test func truncatedCaptureReportsWhatCameBeforeThenWarnsWithExit2() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("vsftpd-lftp-active.pcap")))
        let path = CaptureFile.temporaryPath("truncated.pcap")
        #expect(FileManager.default.createFile(atPath: path, contents: data.prefix(data.count / 2 + 3)))
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
        // The language asked for comes first.
        let english = try Fixtures.run(["codes", "530"]), chinese = try Fixtures.run(["codes", "530", "--lang", "zh"])
        #expect(english.stdout.contains("  en:      Not logged in.\n  zh:      未登录。\n"))
        #expect(chinese.stdout.contains("  zh:      未登录。\n  en:      Not logged in.\n"))
        // A code the catalog lacks is still explained by its digits; what cannot be a reply is said so.
        let missing = try Fixtures.run(["codes", "251"])
        #expect(missing.status == 3 && missing.stderr == "ftpscope: ftp code 251 is not in the catalog\n")
        #expect(missing.stdout == "FTP 251 (not in the catalog; by its digits, RFC 959 4.2)\n  class:   2xx (positive completion)\n  group:   file system\n")
        let outside = try Fixtures.run(["codes", "299"])
        #expect(outside.status == 3 && outside.stdout.isEmpty && outside.stderr.contains("299 is not an FTP reply code: the first digit is 1 to 6 and the second 0 to 5"))
        for notACode in ["abc", "1000", "22"] {
            let r = try Fixtures.run(["codes", notACode])
            #expect(r.status == 64 && r.stderr == "ftpscope: '\(notACode)' is not an FTP reply code: those are three digits, e.g. 227\n")
        }
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
        // A directory is searched recursively (the rotated recording's files are in one of its
        // own), its captures taken in path order.
        let found = try FileManager.default.subpathsOfDirectory(atPath: Fixtures.captures.path)
            .filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.map(Fixtures.path).sorted()
        #expect(found.count > files.count)
        let dir = try Fixtures.run(["analyze", "--format", "jsonl", "--jobs", "2", Fixtures.captures.path])
        #expect(dir.stdout == (try Fixtures.run(["analyze", "--format", "jsonl", "--jobs", "1"] + found)).stdout)
    }

    /// Text files analyzed in parallel are grouped exactly as one after another: each worker
    /// groups its own file (one grouper shared by the workers raced, and with `--jobs 2` the
    /// records came out with neither headings nor session column).
    @Test func severalFilesInParallelGroupTextAsSerialDoes() throws {
        let files = Fixtures.captureNames.map(Fixtures.path)
        let serial = try Fixtures.run(["analyze", "--format", "text", "--jobs", "1"] + files)
        for jobs in ["0", "2"] {
            let parallel = try Fixtures.run(["analyze", "--format", "text", "--jobs", jobs] + files)
            #expect(parallel.status == 0)
            #expect(parallel.stdout == serial.stdout, "--jobs \(jobs)")
        }
        for (i, name) in Fixtures.captureNames.enumerated() {
            let one = try Fixtures.run(["analyze", "--format", "text", Fixtures.path(name)])
            let sessions = one.stdout.components(separatedBy: "── session s").count - 1
            #expect(sessions > 0)
            #expect(serial.stdout.components(separatedBy: "── session f\(i + 1).s").count - 1 == sessions, "\(name)")
        }
    }

    /// `--no-sessions` leaves out the session summaries in every format; grouped text ends a
    /// session's block at its end all the same.
    @Test func noSessionsLeavesOutSummaryLinesInGroupedText() throws {
        let file = Fixtures.path("proftpd-ftplib.pcap")
        let with = try Fixtures.run(["analyze", "--format", "text", file])
        let without = try Fixtures.run(["analyze", "--format", "text", "--no-sessions", file])
        #expect(with.stdout.contains("\nsession s1  "))
        #expect(!without.stdout.contains("\nsession s1  "))
        #expect(!without.stdout.contains("    transfer RETR"))
        let kept = with.stdout.split(separator: "\n", omittingEmptySubsequences: false).filter {
            !$0.hasPrefix("session s") && !$0.hasPrefix("    transfer ")
        }
        #expect(without.stdout.split(separator: "\n", omittingEmptySubsequences: false) == kept)
        let stream = try Fixtures.run(["analyze", "--format", "text", "--stream", "--no-sessions", file])
        #expect(!stream.stdout.contains("session s1  "))
        #expect(stream.stdout.contains("  s1  "))
    }

    /// Splitting one capture over several analyzers must not change a byte: real captures, and
    /// a synthetic one built to disturb it: many address pairs, sessions that go idle (swept
    /// and picked up again mid-stream), resets, sessions still open at the end, a data
    /// connection, and connections created in the same instant.
    @Test func splitAnalysisWritesExactlyWhatOneAnalyzerWrites() throws {
        var conversations: [Conversation] = []
        let base: Int64 = 1_763_800_000_000_000_000
        for i in 0..<48 {
            var c = Conversation(client: Endpoint(.v4(0x0A00_0000 | UInt32(i)), UInt16(40_000 + i)),
                                 server: Endpoint(.v4(0xC000_0200 | UInt32(i % 7)), i % 5 == 0 ? 2121 : 21),
                                 clientISN: UInt32(i * 7919), serverISN: UInt32(i * 104_729),
                                 start: base + (i % 4 == 2 ? 90_000_000_000 + Int64(i) * 10_000_000 : Int64(i / 2) * 1_500_000_000))
            c.step = i % 3 == 0 ? 4_000_000_000 : 150_000_000
            c.handshake()
            c.server("220-Welcome \(i)\r\n220 Ready\r\n")
            c.client("USER u\(i)\r\n"); c.server("331 Password please.\r\n")
            c.client("PASS p\r\n"); c.server(i % 4 == 0 ? "530 Login incorrect.\r\n" : "230 Logged in.\r\n")
            c.client("PASV\r\n"); c.server("227 Entering Passive Mode (192,0,2,\(i % 7),\(100 + i),\(i)).\r\n")
            switch i % 4 {
            case 0: c.close()
            case 1: c.reset(fromClient: true)
            case 2: c.client("NOOP\r\n"); c.server("200 NOOP ok.\r\n")  // still open at the end
            default: c.client("QUIT\r\n"); c.server("221 Bye.\r\n"); c.close()
            }
            conversations.append(c)
        }
        let path = CaptureFile.temporaryPath("split.pcap")
        try CaptureFile.write(conversations, to: path)
        let args = ["analyze", "--format", "jsonl", "--idle-timeout", "3", "--commands"]
        let one = try Fixtures.run(args + ["--jobs", "1", path])
        #expect(one.status == 0)
        #expect(one.stdout.contains("\"end_reason\":\"idle\"") && one.stdout.contains("\"end_reason\":\"end of input\""))
        // Sessions swept while idle come back as new mid-stream sessions: more ids than connections.
        #expect(one.stdout.contains("\"end_reason\":\"rst\"") && one.stdout.contains("\"session\":\"s49\""))
        for shards in ["2", "3", "5"] {
            let split = try Fixtures.run(args + ["--shards", shards, path])
            #expect(split.status == 0)
            #expect(split.stdout == one.stdout, "\(shards) analyzers")
        }
        // Text a record per line is split the same way: ids renumbered in replies, commands and
        // session lines alike; grouped text is grouped after the merge, headings renumbered.
        for stream in [["--stream"], []] {
            let text = ["analyze", "--format", "text", "--idle-timeout", "3", "--commands"] + stream
            let oneText = try Fixtures.run(text + ["--jobs", "1", path])
            #expect(oneText.stdout.contains("\nsession s49  "))
            #expect(oneText.stdout.contains(stream.isEmpty ? "── session s49  " : "  s49  "))
            for shards in ["2", "3"] {
                let split = try Fixtures.run(text + ["--shards", shards, path])
                #expect(split.status == 0)
                #expect(split.stdout == oneText.stdout, "text \(stream), \(shards) analyzers")
            }
        }
        for name in Fixtures.captureNames {
            for format in [["--format", "jsonl"], ["--format", "text", "--stream", "--commands"],
                           ["--format", "text", "--no-sessions"]] {
                let keys = Fixtures.keyLogArguments(name)
                let a = try Fixtures.run(["analyze"] + format + keys + ["--jobs", "1", Fixtures.path(name)])
                let b = try Fixtures.run(["analyze"] + format + keys + ["--shards", "2", Fixtures.path(name)])
                #expect(a.stdout == b.stdout, "\(name) \(format)")
            }
        }
    }

    /// Replies whose class, group and meaning do not come from the precomputed per-code text:
    /// a line without a code, and codes outside the catalog and the grammar.
    @Test func recordsForCodesOutsideTheCatalog() throws {
        var c = Conversation()
        c.handshake()
        c.server("220 Ready\r\n")
        c.client("NOOP\r\n"); c.server("hello, no code here\r\n")
        c.client("NOOP\r\n"); c.server("299 Odd but well formed\r\n")
        c.client("NOOP\r\n"); c.server("224 Not in the catalog\r\n")
        let path = CaptureFile.temporaryPath("uncatalogued.pcap")
        try CaptureFile.write(packets: c.packets, linkType: .ethernet, to: path)
        let r = try Fixtures.run(["analyze", "--format", "jsonl", path])
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 6)
        // A line without a code is shown and flagged; the client went on, so it answered NOOP.
        #expect(lines[1].contains("\"code\":null,\"lines\":[\"hello, no code here\"],\"command\":\"NOOP\",\"argument\":null,\"class\":null,\"group\":null,\"meaning\":null,\"state\":\"ready\""))
        #expect(lines[1].contains("\"anomalies\":[\"malformed reply line\"]"))
        #expect(lines[2].contains("\"code\":299,") && lines[2].contains("\"class\":\"2xx\",\"group\":null,\"meaning\":null,\"state\""))
        #expect(lines[2].contains("\"anomalies\":[\"code outside reply grammar\",\"code not in catalog\",\"reply unexpected for command\"]"))
        #expect(lines[3].contains("\"class\":\"2xx\",\"group\":\"connections\",\"meaning\":null,"))
        #expect(lines[3].contains("\"anomalies\":[\"code not in catalog\",\"reply unexpected for command\"]"))
        for l in lines { #expect((try? JSONSerialization.jsonObject(with: Data(l.utf8))) != nil, "\(l)") }
    }
}
