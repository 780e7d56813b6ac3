import CDecompress
import Crypto
import FTPSession
import NetworkAddress
import PacketCapture
import TestSupport
import Testing

/// What a transfer's TYPE and MODE make of its bytes: a MODE Z transfer is inflated back into
/// the file (or, bytes lost, is not and claims nothing), and the size the 150 announced is
/// compared with what the representation allows.
@Suite struct TransferModeTests {
    /// A file of printable text that deflate shrinks to about three quarters: several segments.
    private static let file: [UInt8] = {
        var x: UInt32 = 12345
        return (0..<6000).map { i in
            if i % 61 == 60 { return 0x0A }
            x = x &* 1_103_515_245 &+ 12345
            return UInt8(0x21 + (x >> 16) % 90)
        }
    }()

    private static var zlibStream: [UInt8] { deflate(file) }

    private static func deflate(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(compressBound(uLong(bytes.count))))
        var length = uLongf(out.count)
        let status = out.withUnsafeMutableBufferPointer { o in
            bytes.withUnsafeBufferPointer { compress2(o.baseAddress, &length, $0.baseAddress, uLong(bytes.count), 9) }
        }
        precondition(status == Z_OK)
        return Array(out.prefix(Int(length)))
    }

    /// A session that sets TYPE and MODE, then downloads `sent` over a passive data
    /// connection, its 150 announcing `announced` bytes; `lose` leaves out that data segment.
    private func download(type: String, mode: String?, sent: [UInt8], announced: Int, lose: Int? = nil, name: String) throws -> TransferSummary {
        try run(type: type, mode: mode, sent: sent, announced: announced, lose: lose, name: name).sessions[0].transfers[0]
    }

    private func run(type: String, mode: String?, sent: [UInt8], announced: Int, lose: Int? = nil, name: String) throws -> AnalysisRun {
        let client = IPAddress("10.0.0.5")!, server = IPAddress("192.0.2.1")!
        var c = Conversation(client: Endpoint(client, 40312), server: Endpoint(server, 21))
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("USER bob\r\n"); c.server("230 In.\r\n")
        c.client("TYPE \(type)\r\n"); c.server("200 Type set.\r\n")
        if let mode { c.client("MODE \(mode)\r\n"); c.server("200 Mode set.\r\n") }
        c.client("PASV\r\n"); c.server("227 Entering Passive Mode (192,0,2,1,117,48).\r\n")
        var data = c.opening(client: Endpoint(client, 40500), server: Endpoint(server, 30000))
        c.client("RETR f.txt\r\n"); c.server("150 Opening data connection for f.txt (\(announced) bytes).\r\n")
        let first = data.packets.count
        c.carry(sent, on: &data)
        if let lose { data.remove(at: first + lose) }
        c.server("226 Transfer complete.\r\n")
        c.client("QUIT\r\n"); c.server("221 Bye.\r\n"); c.close()
        let path = CaptureFile.temporaryPath(name)
        try CaptureFile.write([c, data], to: path)
        var config = AnalyzerConfiguration()
        config.transferHashes = [.sha256]
        let run = try AnalysisRun.of(path, configuration: config)
        #expect(run.summary.anomalies["transfer size differs from 150 announcement"] == nil || name.hasPrefix("short"))
        try #require(run.sessions.count == 1 && run.sessions[0].transfers.count == 1)
        return run
    }

    private var fileDigest: String { SHA256.hash(data: Self.file).map { String(format: "%02x", $0) }.joined() }

    @Test func aModeZTransferIsTheInflatedFile() throws {
        let zlib = Self.zlibStream
        let t = try download(type: "I", mode: "Z", sent: zlib, announced: Self.file.count, name: "mode-z.pcap")
        #expect(t.transferMode == "Z" && t.representationType == "I")
        #expect(t.bytes == zlib.count && t.inflatedBytes == Self.file.count && t.sizeMatches == true)
        #expect(t.digests?.sha256 == fileDigest && t.mimeType == "text/plain")
    }

    /// Some servers send raw deflate, without zlib's header and checksum.
    @Test func aModeZTransferInRawDeflateIsInflatedToo() throws {
        let raw = Array(Self.zlibStream.dropFirst(2).dropLast(4))
        let t = try download(type: "I", mode: "Z", sent: raw, announced: Self.file.count, name: "mode-z-raw.pcap")
        #expect(t.inflatedBytes == Self.file.count && t.sizeMatches == true && t.digests?.sha256 == fileDigest)
    }

    /// A segment of the deflated stream lost: the rest cannot be inflated, so no size, digest
    /// or verdict on the announced size is given — and no size mismatch blamed on the server.
    @Test func aModeZTransferWithBytesLostClaimsNothing() throws {
        let t = try download(type: "I", mode: "Z", sent: Self.zlibStream, announced: Self.file.count, lose: 1, name: "mode-z-lost.pcap")
        #expect(t.uncapturedBytes == 1448)
        #expect(t.inflatedBytes == nil && t.sizeMatches == nil && t.digests == nil)
    }

    /// 48 MiB of zeros deflate to 47 KB: inflated only to the limit, then left, the session
    /// saying so; no size, digest or verdict on the announced size.
    @Test func aDeflateBombIsNotInflatedPastTheLimit() throws {
        let zeros = [UInt8](repeating: 0, count: 48 << 20)
        let bomb = Self.deflate(zeros)
        #expect(bomb.count < 100_000)
        let run = try run(type: "I", mode: "Z", sent: bomb, announced: zeros.count, name: "mode-z-bomb.pcap")
        let t = run.sessions[0].transfers[0]
        #expect(t.bytes == bomb.count && t.inflatedBytes == nil && t.digests == nil && t.sizeMatches == nil)
        #expect(run.sessions[0].anomalies == ["deflated transfer past inflation limit": 1])
    }

    /// TYPE A from a server whose files end lines with LF alone: every line end sent as CRLF,
    /// more bytes than announced, which may be the whole file. Fewer bytes than announced are
    /// a short transfer whatever the type; MODE B's block headers say nothing either way.
    @Test func theAnnouncedSizeAsEachRepresentationAllows() throws {
        let crlf = Self.file.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }
        let ascii = try download(type: "A", mode: nil, sent: crlf, announced: Self.file.count, name: "type-a.pcap")
        #expect(ascii.representationType == "A" && ascii.transferMode == nil && ascii.sizeMatches == nil)
        let same = try download(type: "A", mode: nil, sent: Self.file, announced: Self.file.count, name: "type-a-same.pcap")
        #expect(same.sizeMatches == true)
        let short = try download(type: "A", mode: nil, sent: Array(Self.file.prefix(5000)), announced: Self.file.count, name: "short-type-a.pcap")
        #expect(short.sizeMatches == false)
        let binary = try download(type: "I", mode: nil, sent: crlf, announced: Self.file.count, name: "short-type-i.pcap")
        #expect(binary.sizeMatches == false)
        let block = try download(type: "I", mode: "B", sent: crlf, announced: Self.file.count, name: "mode-b.pcap")
        #expect(block.transferMode == "B" && block.sizeMatches == nil)
    }
}
