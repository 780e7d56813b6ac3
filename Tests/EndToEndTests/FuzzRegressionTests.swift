import Foundation
import FTPSession
import PacketCapture
import Reports
import Testing
import TLSDecryption

/// Every input a fuzzer found a fault with runs here too, through the same code the fuzz
/// target drives, with the key log it decrypts with. Under scripts/test-asan, LeakSanitizer
/// turns a returning leak into a failure, AddressSanitizer a read of freed memory.
@Suite struct FuzzRegressionTests {
    static var inputs: [String] {
        let dir = Fixtures.root.appendingPathComponent("Tests/Fuzz/pipeline")
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted().map { dir.appendingPathComponent($0).path }
    }

    @Test func thereAreRegressionInputs() { #expect(!Self.inputs.isEmpty) }

    @Test(arguments: inputs)
    func pipelineInput(_ path: String) throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let source = try PcapSource.openBuffer(bytes)
        var config = AnalyzerConfiguration()
        config.maxConnections = 64
        // The fuzz target's limits, under which its inputs were found.
        config.maxLineLength = 256
        config.maxLinesPerReply = 16
        config.maxBufferedBytesPerStream = 4096
        config.controlPorts.insert(2121)
        config.tlsKeyLog = try TLSKeyLogSource(path: Fixtures.path("vsftpd-curl-tls-keylog.keys"))
        var collector = ReportCollector()
        var records = 0
        let outcome = CaptureDriver.run(source, configuration: config, sink: EventSink { event in
            records += RecordEncoder().encode(event).isEmpty ? 0 : 1
            collector.add(event)
        })
        collector.summary = outcome.summary
        #expect(!HTMLReport().render(collector, violations: []).isEmpty)
        #expect(records == collector.sessions.count + outcome.summary.replies + outcome.summary.commands + outcome.summary.gaps)
    }
}
