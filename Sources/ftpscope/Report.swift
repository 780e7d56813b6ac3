import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PacketCapture
import FTPSession
import Reports
#if canImport(Glibc)
import Glibc
#endif

enum ReportFormat: String, ExpressibleByArgument, CaseIterable { case markdown, junit, html, json }

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a session report (Markdown, JUnit XML, HTML, JSON) and gate a CI job on it.",
        discussion: "Exits 1 when a --fail-on rule or --max-latency-ms is violated; the violations go to stderr.")

    @Argument(help: "Capture files or directories; - reads standard input.")
    var inputs: [String]

    @Option(name: .long, help: "markdown, junit, html or json.")
    var format: ReportFormat = .markdown

    @Option(name: .shortAndLong, help: "Write the report here instead of stdout.")
    var output: String?

    // One value per flag (a list takes commas): taking values up to the next option swallowed
    // the capture in `report --fail-on 5xx ftp.pcap`.
    @Option(name: .customLong("fail-on"),
            help: "Fail on a reply class (5xx, 4xx), a code (530), 'anomaly', 'anomaly:NAME' or 'gap'; comma-separated or repeated.")
    var failOn: [String] = []

    @Option(name: .customLong("allow-anomaly"),
            help: "An anomaly --fail-on anomaly lets pass (e.g. 'code not in catalog'); repeated for several.")
    var allowAnomaly: [String] = []

    @Option(name: .customLong("max-latency-ms"), help: "Fail when a reply takes longer than this after its command.")
    var maxLatencyMs: Double?

    @Option(name: .long, help: "Files analyzed in parallel (the report is the same whatever the number).")
    var jobs: Int = 0

    @Flag(name: .long, help: "Read the files as one capture, their packets merged in time order (as mergecap does): sessions that span rotated files stay whole.")
    var merge = false

    @OptionGroup var options: AnalysisOptions

    func validate() throws {
        for r in failOn.flatMap({ $0.split(separator: ",") }) where Policy.rule(String(r)) == nil {
            if r.lowercased().hasPrefix("anomaly:") {
                throw ValidationError("unknown anomaly in --fail-on '\(r)': \(Self.anomalyList)")
            }
            throw ValidationError("unknown --fail-on rule '\(r)': use a class (5xx), a code (530), anomaly, anomaly:NAME or gap")
        }
        for a in allowAnomaly where Policy.anomalyName(a) == nil {
            throw ValidationError("unknown anomaly in --allow-anomaly '\(a)': \(Self.anomalyList)")
        }
        guard jobs >= 0 else { throw ValidationError("--jobs takes a count, 0 for automatic") }
        // `nan` parses as a Double and would never be exceeded: a gate that silently never fails.
        if let m = maxLatencyMs, !(m.isFinite && m >= 0) {
            throw ValidationError("--max-latency-ms must be a number of milliseconds, 0 or more")
        }
    }

    private static var anomalyList: String { "one of " + Policy.anomalyNames.map { "'\($0)'" }.joined(separator: ", ") }

    func run() throws {
        let policy = Policy(rules: failOn.flatMap { $0.split(separator: ",") }.compactMap { Policy.rule(String($0)) },
                            maxLatencyMilliseconds: maxLatencyMs,
                            allowedAnomalies: Set(allowAnomaly.compactMap(Policy.anomalyName)))
        let expansion = InputFiles.expand(inputs)
        try options.prepare()
        // Each session's parts are rendered when it ends and spooled to temporary files (its
        // row of the table of sessions; JUnit's test suite, HTML's timeline): a report's memory
        // grows with the sessions open at once, not with the sessions or replies of a capture.
        let html = HTMLReport(language: options.lang)
        let sections: SectionRenderer? = switch format {
        case .junit: JUnitReport.sections
        case .html: html.sections
        case .markdown, .json: nil
        }
        let rows: SessionRows = switch format {
        case .markdown: MarkdownReport.sessionRows
        case .html: HTMLReport.sessionRows
        case .json: JSONReport.sessionRows
        case .junit: .countOnly
        }
        let (collected, damaged, unreadFiles) = try collect(CaptureInput.list(expansion.files, merged: merge), policy: policy,
                                                            sections: sections, rows: rows)
        var collector = collected
        collector.warnings = expansion.warnings + collector.warnings
        let unreadable = unreadFiles || expansion.unreadable > 0 || expansion.files.isEmpty
        let violations = collector.violations, count = collector.violationCount
        let file: UnsafeMutablePointer<FILE>?
        if let output {
            guard let f = fopen(output, "wb") else { warn("\(output): cannot write report"); throw Exit.inputUnreadable }
            file = f
        } else {
            file = nil
        }
        let out = Output()
        let write: (UnsafeRawBufferPointer) -> Void = { chunk in
            if let file { fwrite(chunk.baseAddress, 1, chunk.count, file) } else { out.write(Array(chunk)) }
        }
        switch format {
        case .markdown:
            MarkdownReport(language: options.lang).write(collector, policy: policy, violations: violations, violationCount: count,
                                                         to: write)
        case .junit: JUnitReport().write(collector, policy: policy, to: write)
        case .html: html.write(collector, violations: violations, violationCount: count, to: write)
        case .json: JSONReport().write(collector, violations: violations, violationCount: count, to: write)
        }
        if let file {
            // A failed write marks the stream; the close reports a failed flush of what remained.
            let failed = ferror(file) != 0
            if fclose(file) != 0 || failed { warn("\(output!): cannot write report"); throw Exit.inputUnreadable }
        } else {
            out.flush()
        }
        for v in violations.prefix(20) { warn("policy: " + TerminalText.escape(v)) }
        if count > 20 { warn("policy: … \(count - 20) more violations") }
        // An input not read leaves the gate blind to it: that outranks what the rest showed.
        if unreadable { throw Exit.inputUnreadable }
        if count > 0 { throw Exit.policyFailed }
        if damaged { throw Exit.inputDamaged }
    }

    /// One collector per input, filled on as many threads as --jobs allows, merged in file order.
    private func collect(_ inputs: [CaptureInput], policy: Policy, sections: SectionRenderer?,
                         rows: SessionRows) throws -> (ReportCollector, damaged: Bool, unreadable: Bool) {
        let workers = jobs == 0 ? ProcessInfo.processInfo.activeProcessorCount : max(1, jobs)
        let slots = inputs.map { _ in
            CollectorBox(ReportCollector(policy: policy, keepExchanges: false, sections: sections, rows: rows))
        }
        let many = inputs.count > 1
        let options = self.options
        // One file on several cores: a collector that renders sections (JUnit, HTML) is filled
        // on a second thread. Markdown and JSON collect little per event; handing events over
        // cost them more than it gave.
        let pipe = inputs.count == 1 && sections != nil && jobs != 1 && ProcessInfo.processInfo.activeProcessorCount > 1
        let firstFailure = FirstFailure()
        concurrentForEach(inputs.count, workers: workers) { i in
            guard !firstFailure.precedes(i) else { return }
            let box = slots[i]
            let collecting = pipe ? CollectorThread { box.collector.add($0) } : nil
            // Every event has been added before the box is read, whatever happened.
            defer { collecting?.finish() }
            let sink = collecting.map { c in EventSink { c.send($0) } } ?? EventSink { box.collector.add($0) }
            do throws(CaptureError) {
                let outcome = try FileBatch.analyzeQuietly(inputs[i], options: options, prefix: many ? "f\(i + 1)." : "",
                                                           progress: nil, sink: sink)
                collecting?.finish()
                box.collector.summary = outcome.summary
                box.collector.files = inputs[i].paths.count
                box.outcome = outcome
            } catch {
                box.failure = error
                if FileBatch.stopsRun(error) { firstFailure.record(i) }
            }
        }
        var all = ReportCollector(policy: policy, keepExchanges: false, sections: sections, rows: rows)
        var result = BatchResult()
        for (i, box) in slots.enumerated() {
            if let f = box.failure {
                try FileBatch.skip(inputs[i], f, in: &result)
                continue
            }
            if let outcome = box.outcome { FileBatch.sayTroubles(outcome, of: inputs[i], into: &result) }
            all.merge(box.collector)
        }
        all.warnings = result.warnings
        return (all, result.damaged, result.unreadableFiles > 0)
    }
}

/// Per-file results written by exactly one worker and read after all have finished.
private final class CollectorBox: @unchecked Sendable {
    var collector: ReportCollector
    init(_ collector: ReportCollector) { self.collector = collector }
    var outcome: InputOutcome?
    var failure: CaptureError?
}
