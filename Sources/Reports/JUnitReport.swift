import FTPSession

/// JUnit XML as CI systems read it (Jenkins, GitLab, GitHub test reporters): a test suite per
/// session, a test case per command/reply exchange, a failure where the policy says so.
public struct JUnitReport: Sendable {
    public init() {}

    /// The report as one string (small captures, tests); `write` streams it.
    public func render(_ c: ReportCollector, policy: Policy) -> String {
        var out = ""
        write(c, policy: policy) { out += String(decoding: $0, as: UTF8.self) }
        return out
    }

    /// Writes the report in pieces: the spooled sections of a collector made with `sections`,
    /// or sections rendered now from the sessions' exchanges.
    public func write(_ c: ReportCollector, policy: Policy, to out: (UnsafeRawBufferPointer) -> Void) {
        var inMemory: [Section] = []
        var tests = c.sectionTests, failures = c.sectionFailures
        if c.spools.isEmpty {
            inMemory = c.sessions.map { Self.section($0, policy: policy) }
            tests = inMemory.reduce(0) { $0 + $1.tests }
            failures = inMemory.reduce(0) { $0 + $1.failures }
        }
        writeUTF8("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  + "<testsuites name=\"ftpscope\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\">\n", to: out)
        for s in inMemory { writeUTF8(s.text, to: out) }
        for spool in c.spools { spool.forEachChunk(out) }
        writeUTF8("</testsuites>\n", to: out)
    }

    public typealias Section = SectionRenderer.Section

    /// Renders each session's test suite as the session ends.
    public static let sections = SectionRenderer { section($0, policy: $1) }

    /// One session's test suite: a test case per exchange, and one for its gaps when the policy
    /// fails on them.
    static func section(_ s: SessionReport, policy: Policy) -> Section {
        var cases = ""
        var failures = 0
        for e in s.exchanges {
            let name = e.command.map { $0 + (e.argument.map { " " + $0 } ?? "") } ?? "(greeting or unsolicited)"
            let codes = e.replies.compactMap { $0.reply.code.map(String.init) }.joined(separator: ", ")
            let time = e.replies.last?.latencyMilliseconds.map { fixed($0 / 1000, 6) } ?? "0"
            var reasons = e.replies.flatMap { policy.violations(of: $0) }
            if e.replies.isEmpty && policy.rules.contains(.anomaly) { reasons.append("no reply") }
            cases += "    <testcase classname=\"\(Escape.xml(s.summary.session.id))\" name=\"\(Escape.xml(name + " → " + codes))\" time=\"\(time)\">\n"
            if !reasons.isEmpty {
                failures += 1
                cases += "      <failure message=\"\(Escape.xml(reasons.joined(separator: "; ")))\" type=\"ftp\">"
                cases += Escape.xml(e.replies.flatMap { $0.reply.lines.map { String(decoding: $0, as: UTF8.self) } }.joined(separator: "\n"))
                cases += "</failure>\n"
            }
            let out = e.replies.flatMap { $0.reply.lines.map { String(decoding: $0, as: UTF8.self) } }.joined(separator: "\n")
            if !out.isEmpty { cases += "      <system-out>\(Escape.xml(out))</system-out>\n" }
            cases += "    </testcase>\n"
        }
        let gapFailures = s.gaps.flatMap { policy.violations(of: $0) }
        if !gapFailures.isEmpty {
            failures += 1
            cases += "    <testcase classname=\"\(Escape.xml(s.summary.session.id))\" name=\"capture completeness\" time=\"0\">\n"
            cases += "      <failure message=\"\(Escape.xml(gapFailures.joined(separator: "; ")))\" type=\"gap\"/>\n    </testcase>\n"
        }
        let tests = s.exchanges.count + (gapFailures.isEmpty ? 0 : 1)
        let name = "\(s.summary.session.id) \(s.summary.session.clientText) → \(s.summary.session.serverText)"
        var suite = "  <testsuite name=\"\(Escape.xml(name))\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\" skipped=\"0\" "
        suite += "time=\"\(fixed(s.summary.durationMilliseconds / 1000, 6))\" timestamp=\"\(isoTime(s.summary.first.nanoseconds))\">\n"
        return Section(text: suite + cases + "  </testsuite>\n", tests: tests, failures: failures)
    }

    private static func isoTime(_ ns: Int64) -> String {
        let t = UTCTime.format(ns)
        return String(t.prefix(19)).replacing(" ", with: "T")
    }
}
