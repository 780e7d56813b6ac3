#if canImport(Glibc)
import Glibc
#endif
import FTPSession
import PacketCapture
import Reports
import TLSDecryption

// Built only by scripts/fuzz (-D FUZZING, -sanitize=fuzzer); an empty program otherwise.
#if FUZZING

/// Read once (scripts/fuzz runs from the repository's top); none when it is not there.
let fuzzKeyLog = try? TLSKeyLogSource(path: "Captures/vsftpd-curl-tls-keylog.keys")

/// libFuzzer target: pcap/pcapng file bytes through libpcap, decoding, reassembly, FTP
/// analysis and every output encoder, with small limits so the caps are exercised.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPipeline(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let source = try? PcapSource.openBuffer(bytes) else { return 0 }
    var config = AnalyzerConfiguration()
    config.maxConnections = 64
    config.maxLineLength = 256
    config.maxLinesPerReply = 16
    config.maxBufferedBytesPerStream = 4096
    config.controlPorts.insert(2121)
    // The real FTPS capture's key log: mutations of that seed keep its ClientHello randoms, so
    // the records the fuzzer changes go through the decryptor's hellos, trials and failures.
    config.tlsKeyLog = fuzzKeyLog
    // Every other input hashes its transfers and writes them out (seeds longer than -max_len
    // are cut to it, a multiple of four, and do both), so that data connections go through
    // reassembly too; what is kept must be every file the records name, and nothing else (no
    // temporary file) may be left.
    let extracting = size % 4 < 2
    if extracting { config.transferHashes = [.md5, .sha256] }
    let directory = "/tmp/ftpscope-fuzz-extract-\(getpid())"
    if extracting {
        mkdir(directory, 0o755)
        config.extractDirectory = directory
    }
    let encoder = RecordEncoder()
    let text = TextFormatter(color: true, showCommands: true)
    let lines = TextLines(formatter: text)
    // Grouped text with bounds small enough that blocks are handed over early and continued.
    let grouper = SessionGrouper(formatter: TextFormatter(showCommands: true, grouped: true),
                                 sessionSummaries: size % 3 != 0, maxBufferedPerSession: 8, maxBufferedBytes: 2048)
    var collector = ReportCollector(maxExchangesPerSession: 32, policy: Policy(rules: [.anomaly, .gap, .replyClass(5)]))
    let box = Box()
    // Half the inputs read ahead of the analyzer (as large files are), half packet by packet.
    let outcome = CaptureDriver.run(source, configuration: config, readAheadFrom: size % 2 == 0 ? 0 : nil, sink: EventSink { event in
        box.count += encoder.encode(event).count
        box.count += text.format(event)?.utf8.count ?? 0
        lines.write(event, into: &box.writer)
        if box.writer.byteCount > 1 << 16 { box.writer.clear() }
        grouper.add(event) { box.count += $0.count }
        box.events.append(event)
    })
    box.count += grouper.flush().count
    if extracting { checkExtracted(directory, box.events, outcome.summary) }
    // The command line's collectors render each exchange as the next begins and spool each
    // ended session (its row, its test suite or timeline); what they write must be what a
    // collector keeping every exchange renders at the end. JUnit's moves every open session's
    // parts to its spill file after every exchange, HTML's now and then.
    let policy = collector.policy
    var junit = ReportCollector(maxExchangesPerSession: 32, policy: policy, keepExchanges: false,
                                sections: JUnitReport.sections, rows: .countOnly, heldPartsBudget: 0, minimumSpilledBytes: 0)
    var html = ReportCollector(maxExchangesPerSession: 32, policy: policy, keepExchanges: false,
                               sections: HTMLReport().sections, rows: HTMLReport.sessionRows,
                               heldPartsBudget: 512, minimumSpilledBytes: 128)
    var markdown = ReportCollector(maxExchangesPerSession: 32, policy: policy, keepExchanges: false,
                                   rows: MarkdownReport.sessionRows)
    var json = ReportCollector(maxExchangesPerSession: 32, policy: policy, keepExchanges: false, rows: JSONReport.sessionRows)
    for e in box.events {
        collector.add(e); junit.add(e); html.add(e); markdown.add(e); json.add(e)
    }
    collector.summary = outcome.summary
    for c in [junit, html, markdown, json] { precondition(c.sessions.isEmpty && c.sessionCount == collector.sessionCount) }
    markdown.summary = outcome.summary
    json.summary = outcome.summary
    html.summary = outcome.summary
    let kept = MarkdownReport().render(collector, policy: policy, violations: collector.violations,
                                       violationCount: collector.violationCount)
    precondition(kept == MarkdownReport().render(markdown, policy: policy, violations: markdown.violations,
                                                 violationCount: markdown.violationCount), "spooled Markdown differs")
    precondition(JUnitReport().render(collector, policy: policy) == JUnitReport().render(junit, policy: policy),
                 "spooled JUnit differs")
    precondition(HTMLReport().render(collector, violations: []) == HTMLReport().render(html, violations: []),
                 "spooled HTML differs")
    precondition(JSONReport().render(collector, violations: []) == JSONReport().render(json, violations: []),
                 "spooled JSON differs")
    return 0
}

/// The directory holds exactly the files the session records name, then is removed.
private func checkExtracted(_ directory: String, _ events: [AnalysisEvent], _ summary: CaptureSummary) {
    var named = Set<String>()
    for case .session(let s) in events { for t in s.transfers { if let p = t.extractedPath { named.insert(p) } } }
    var found = Set<String>()
    var hidden = false
    if let dir = opendir(directory) {
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { found.insert(directory + "/" + name) }
            // Extracted names never begin with a dot (leading dots are dropped); the hidden
            // `.ftpscope-*.part` files are the temporary ones. A transfer's own name may end
            // in `.part` (the fuzzer made `hell.part` of `hello.txt`).
            if name.hasPrefix(".") && name != "." && name != ".." { hidden = true }
        }
        closedir(dir)
    }
    precondition(named.isSubset(of: found), "a record names a file that is not there")
    precondition(found.count == summary.filesExtracted, "files in the directory: \(found.count), counted \(summary.filesExtracted)")
    precondition(!hidden, "a temporary file was left behind")
    for path in found { unlink(path) }
    rmdir(directory)
}

private final class Box {
    var count = 0
    var events: [AnalysisEvent] = []
    var writer = JSONWriter(capacity: 1 << 12)
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzer(_ argc: UnsafeMutablePointer<CInt>,
               _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links executables against `<module>_main`; hand control to libFuzzer's driver.
@_cdecl("FuzzPipeline_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var c = argc
    var v = argv
    return runFuzzer(&c, &v, fuzzPipeline)
}
#endif
