import ArgumentParser
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

    @Argument(help: "Capture files or directories.")
    var inputs: [String]

    @Option(name: .long, help: "markdown, junit, html or json.")
    var format: ReportFormat = .markdown

    @Option(name: .shortAndLong, help: "Write the report here instead of stdout.")
    var output: String?

    @Option(name: .customLong("fail-on"), parsing: .upToNextOption,
            help: "Fail on a reply class (5xx, 4xx), a code (530), 'anomaly' or 'gap'; comma-separated or repeated.")
    var failOn: [String] = []

    @Option(name: .customLong("max-latency-ms"), help: "Fail when a reply takes longer than this after its command.")
    var maxLatencyMs: Double?

    @OptionGroup var options: AnalysisOptions

    func validate() throws {
        for r in failOn.flatMap({ $0.split(separator: ",") }) where Policy.rule(String(r)) == nil {
            throw ValidationError("unknown --fail-on rule '\(r)': use a class (5xx), a code (530), anomaly or gap")
        }
    }

    func run() throws {
        let policy = Policy(rules: failOn.flatMap { $0.split(separator: ",") }.compactMap { Policy.rule(String($0)) },
                            maxLatencyMilliseconds: maxLatencyMs)
        let files = try InputFiles.expand(inputs)
        let sink = CollectorBox()
        let result = try FileBatch.run(files: files, jobs: 1, options: options, progress: Terminal.stderrIsTTY,
                                       render: { sink.collector.add($0); return nil }, out: Output())
        var collector = sink.collector
        collector.summary = result.summary
        collector.files = files.count
        let violations = policy.evaluate(collector)
        let bytes: [UInt8]
        switch format {
        case .markdown: bytes = Array(MarkdownReport(language: options.lang).render(collector, policy: policy, violations: violations).utf8)
        case .junit: bytes = Array(JUnitReport().render(collector, policy: policy).utf8)
        case .html: bytes = Array(HTMLReport(language: options.lang).render(collector, violations: violations).utf8)
        case .json: bytes = JSONReport().render(collector, violations: violations)
        }
        if let output {
            guard let f = fopen(output, "wb") else { warn("\(output): cannot write report"); throw Exit.inputUnreadable }
            fwrite(bytes, 1, bytes.count, f); fclose(f)
        } else {
            let out = Output(); out.write(bytes); out.flush()
        }
        for v in violations.prefix(20) { warn("policy: " + TerminalText.escape(v)) }
        if violations.count > 20 { warn("policy: … \(violations.count - 20) more violations") }
        if !violations.isEmpty { throw Exit.policyFailed }
        if result.damaged { throw Exit.inputDamaged }
    }
}

/// The render closure is escaping; the collector lives in a box it can mutate.
private final class CollectorBox { var collector = ReportCollector() }
