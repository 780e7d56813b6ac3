import Foundation
@testable import FTPSession
import PacketCapture
import TestSupport
import Testing

/// `--extract`: each transfer's file written as its data connection carried it.
@Suite struct ExtractionTests {
    private let streams = StreamTests()

    private func directory() -> String {
        let path = CaptureFile.temporaryPath("extract")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    private func contents(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    /// The bytes in order whatever the capture did to the segments; a lost segment a hole of
    /// zeros at its place, the rest where it belongs; `extracted_whole` only when every byte from
    /// the SYN to the FIN was seen. The client's name for the file cannot leave the directory.
    @Test(arguments: ["in order", "reordered", "retransmitted", "segment lost", "no SYN", "reset"])
    func aTransferIsWrittenAsItWasSent(_ damage: String) throws {
        let file = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let dir = directory()
        var config = AnalyzerConfiguration()
        config.extractDirectory = dir
        let run = try streams.damagedUpload(damage, command: "STOR ../../etc/cron.d/evil name", file: file, configuration: config)
        let t = try #require(run.sessions.first?.transfers.first)
        let names = try contents(dir)
        #expect(names.count == 1, "\(names)")
        let path = try #require(t.extractedPath)
        #expect(path == dir + "/" + names[0])
        #expect(names[0].hasSuffix("-10.0.0.5_40400-192.0.2.1_5001-STOR-evil_name"), "\(names[0])")
        var expected = file
        if damage == "segment lost" { for i in 2800..<3500 { expected[i] = 0 } }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(expected))
        #expect(t.extractedWhole == (damage == "in order" || damage == "reordered" || damage == "retransmitted"))
        #expect(run.summary.filesExtracted == 1 && run.summary.extractionFailures.isEmpty)
    }

    /// Without `--extract` nothing is written and the record says so.
    @Test func nothingIsWrittenUnlessAsked() throws {
        let run = try streams.passiveTransfer(file: [UInt8](repeating: 1, count: 100))
        let t = try #require(run.sessions.first?.transfers.first)
        #expect(t.extractedPath == nil && t.extractedWhole == nil && run.summary.filesExtracted == 0)
    }

    /// A resumed download is written as sent, the part of the file after the offset: never whole.
    @Test func aResumedTransferIsAPart() throws {
        let dir = directory()
        var config = AnalyzerConfiguration()
        config.extractDirectory = dir
        let run = try streams.passiveTransfer(restart: 1000, file: [UInt8](repeating: 9, count: 2000), configuration: config)
        let t = try #require(run.sessions.first?.transfers.first)
        #expect(try Data(contentsOf: URL(fileURLWithPath: try #require(t.extractedPath))).count == 2000)
        #expect(t.extractedWhole == false)
    }

    /// Forty downloads of 200 KB at once, their packets interleaved: more files than the pool
    /// of descriptors keeps open and more bytes than a buffer holds, each file still exact.
    @Test func manyTransfersAtOnceEachWrittenExactly() throws {
        let server = IPAddress("192.0.2.1")!
        var conversations: [Conversation] = []
        var files: [[UInt8]] = []
        for i in 0..<40 {
            let file = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* (i + 3) &+ i) }
            files.append(file)
            let client = Endpoint(IPAddress("10.0.0.5")!, UInt16(40_000 + i))
            var ctl = Conversation(client: client, server: Endpoint(server, 21))
            ctl.handshake(); ctl.server("220 Ready.\r\n")
            let port = 5001 + i
            ctl.client("PASV\r\n"); ctl.server("227 Entering Passive Mode (192,0,2,1,\(port >> 8),\(port & 0xFF)).\r\n")
            var data = Conversation(client: Endpoint(client.address, UInt16(50_000 + i)), server: Endpoint(server, UInt16(port)),
                                    start: ctl.clock)
            data.handshake()
            ctl.clock = data.clock
            ctl.client("RETR file\(i).bin\r\n"); ctl.server("150 Opening BINARY mode data connection.\r\n")
            data.clock = ctl.clock
            data.serverBytes(file)
            data.close()
            ctl.clock = data.clock
            ctl.server("226 Transfer complete.\r\n")
            conversations += [ctl, data]
        }
        let path = CaptureFile.temporaryPath("forty.pcap")
        try CaptureFile.write(conversations, to: path)
        let dir = directory()
        var config = AnalyzerConfiguration()
        config.extractDirectory = dir
        let run = try AnalysisRun.of(path, configuration: config)
        #expect(run.summary.filesExtracted == 40 && run.summary.extractionFailures.isEmpty)
        for session in run.sessions {
            let t = try #require(session.transfers.first)
            let i = try #require(Int(t.path!.dropFirst(4).dropLast(4)))
            #expect(try Data(contentsOf: URL(fileURLWithPath: try #require(t.extractedPath))) == Data(files[i]), "file \(i)")
            #expect(t.extractedWhole == true)
        }
        #expect(try contents(dir).count == 40)
    }

    /// A mirroring client moving more files over one session than its record lists: the
    /// first 1,000 are listed, the rest settled as each ends — every file still written —
    /// and added up, so that the session holds no more however many it moves.
    @Test func transfersPastTheListedOnesAreSettledAndAddedUp() throws {
        let dir = directory()
        var config = AnalyzerConfiguration()
        config.extractDirectory = dir
        let server = Endpoint(IPAddress("192.0.2.1")!, 21), client = Endpoint(IPAddress("10.0.0.5")!, 40312)
        var ctl = Conversation(client: client, server: server)
        ctl.handshake(); ctl.server("220 Ready.\r\n")
        var all: [Conversation] = []
        let files = TransferOverflow.listed + 3
        for f in 0..<files {
            let port = 10_000 + f
            ctl.client("PASV\r\n"); ctl.server("227 Entering Passive Mode (192,0,2,1,\(port >> 8),\(port & 0xFF)).\r\n")
            var data = Conversation(client: Endpoint(client.address, UInt16(20_000 + f)), server: Endpoint(server.address, UInt16(port)),
                                    start: ctl.clock)
            data.handshake()
            ctl.clock = data.clock
            ctl.client("RETR f\(f)\r\n"); ctl.server("150 Opening.\r\n")
            data.clock = ctl.clock
            data.serverBytes(Array("file \(f)".utf8)); data.close()
            ctl.clock = data.clock
            ctl.server("226 Done.\r\n")
            all.append(data)
        }
        ctl.client("QUIT\r\n"); ctl.server("221 Bye.\r\n"); ctl.close()
        let path = CaptureFile.temporaryPath("mirror.pcap")
        try CaptureFile.write([ctl] + all, to: path)
        let run = try AnalysisRun.of(path, configuration: config)
        let s = try #require(run.sessions.first)
        #expect(s.transfers.count == TransferOverflow.listed)
        #expect(s.transfers.last?.path == "f\(TransferOverflow.listed - 1)")
        let unlistedBytes = (TransferOverflow.listed..<files).map { "file \($0)".utf8.count }.reduce(0, +)
        #expect(s.unlisted.count == 3 && s.unlisted.bytes == unlistedBytes && s.unlisted.missingBytes == 0)
        let written = try contents(dir).count
        #expect(run.summary.filesExtracted == files && written == files)
    }

    /// A data connection no transfer claimed (the capture missed its command) is still kept,
    /// named without a command; a file already in the directory is never replaced.
    @Test func anUnclaimedConnectionIsKeptAndNothingIsReplaced() throws {
        let dir = directory()
        var config = AnalyzerConfiguration()
        config.extractDirectory = dir
        let first = try streams.passiveTransfer(file: Array("first".utf8), configuration: config)
        let name = try #require(first.sessions.first?.transfers.first?.extractedPath)
        let again = try streams.passiveTransfer(file: Array("again".utf8), configuration: config)
        let second = try #require(again.sessions.first?.transfers.first?.extractedPath)
        #expect(second == name + "~1")
        #expect(try String(contentsOfFile: name, encoding: .utf8) == "first")
        #expect(try String(contentsOfFile: second, encoding: .utf8) == "again")

        // The same download with its RETR, its 150 and its 226 lost: the connection opened after
        // the PASV, nothing claimed it.
        let server = Endpoint(IPAddress("192.0.2.1")!, 21), client = Endpoint(IPAddress("10.0.0.5")!, 40312)
        var ctl = Conversation(client: client, server: server)
        ctl.handshake(); ctl.server("220 Ready.\r\n")
        ctl.client("PASV\r\n"); ctl.server("227 Entering Passive Mode (192,0,2,1,19,137).\r\n")
        var data = Conversation(client: Endpoint(client.address, 40400), server: Endpoint(server.address, 5001), start: ctl.clock)
        data.handshake(); data.serverBytes(Array("unclaimed".utf8)); data.close()
        let path = CaptureFile.temporaryPath("unclaimed.pcap")
        try CaptureFile.write([ctl, data], to: path)
        let unclaimed = try AnalysisRun.of(path, configuration: config)
        // Listed as a transfer without a command, as what it carried.
        let listed = try #require(unclaimed.sessions.first?.transfers)
        #expect(listed.map { "\($0.command ?? "-") \($0.bytesToClient) \($0.outcome)" } == ["- 9 pending"])
        #expect(unclaimed.summary.filesExtracted == 1)
        let kept = try contents(dir).filter { $0.hasSuffix("-data") }
        #expect(kept.count == 1 && listed.first?.extractedPath == dir + "/" + kept[0])
        #expect(try String(contentsOfFile: dir + "/" + kept[0], encoding: .utf8) == "unclaimed")
        #expect(try contents(dir).allSatisfy { !$0.hasPrefix(".") }, "no temporary file left behind")
    }

    /// Four hundred files filling at once, 60 KB each: what waits in buffers stays within the
    /// extractor's budget (beyond it a file writes through), descriptors within the pool, and
    /// every file comes out whole, in order, holes where bytes were skipped.
    @Test func buffersAndDescriptorsStayBoundedWhateverIsOpen() throws {
        let dir = directory()
        let extractor = FileExtractor(directory: dir)
        let files = (0..<400).map { _ in extractor.newFile() }
        var highest = 0
        for round in 0..<60 {
            for (i, file) in files.enumerated() {
                let chunk = [UInt8](repeating: UInt8(truncatingIfNeeded: i &+ round), count: 1000)
                if round == 30 && i % 2 == 0 { file.skip(1000); continue }
                chunk.withUnsafeBytes { file.append($0) }
                highest = max(highest, extractor.buffered)
                #expect(extractor.openFiles <= FileExtractor.maxOpenFiles)
            }
        }
        #expect(highest <= FileExtractor.bufferBudget && highest > FileExtractor.bufferBudget - 2000)
        for (i, file) in files.enumerated() {
            let path = try #require(extractor.keep(file, as: "f\(i)"))
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(bytes.count == 60_000)
            let expected = (0..<60).flatMap { round in
                [UInt8](repeating: round == 30 && i % 2 == 0 ? 0 : UInt8(truncatingIfNeeded: i &+ round), count: 1000)
            }
            #expect(bytes == expected, "file \(i)")
        }
        #expect(extractor.buffered == 0 && extractor.filesKept == 400 && extractor.failures.isEmpty)
    }

    /// A directory that cannot take the files (here one removed under the run) costs the files,
    /// counted by reason, never the analysis.
    @Test func aDirectoryThatCannotBeWrittenIsCountedNotFatal() throws {
        var config = AnalyzerConfiguration()
        config.extractDirectory = "/nonexistent-ftpscope-\(getpid())"
        let run = try streams.passiveTransfer(file: [UInt8](repeating: 1, count: 100), configuration: config)
        #expect(run.summary.filesExtracted == 0)
        #expect(run.summary.extractionFailures == ["No such file or directory": 1])
        #expect(run.sessions.first?.transfers.first?.extractedPath == nil)
        #expect(run.replies.count == 4)
    }
}
