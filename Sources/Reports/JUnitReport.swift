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

    /// Renders each exchange's test case as the next begins and each session's test suite as it ends.
    public static let sections = SectionRenderer(exchange: testCase, finish: suite)

    /// One session's test suite: a test case per exchange, and one for its gaps when the policy
    /// fails on them.
    static func section(_ s: SessionReport, policy: Policy) -> Section { sections.render(s, policy: policy) }

    /// One command/reply exchange as a test case, failed where the policy says so.
    static func testCase(_ e: Exchange, _ session: SessionIdentity, _ policy: Policy) -> Section {
        let name = e.command.map { $0 + (e.argument.map { " " + $0 } ?? "") } ?? "(greeting or unsolicited)"
        let codes = e.replies.compactMap { $0.reply.code.map(String.init) }.joined(separator: ", ")
        let time = e.replies.last?.latencyMilliseconds.map { fixed($0 / 1000, 6) } ?? "0"
        var reasons = e.replies.flatMap { policy.violations(of: $0) }
        if e.replies.isEmpty && policy.rules.contains(.anomaly) { reasons.append("no reply") }
        // Built as bytes: a test case per exchange is most of a JUnit report's rendering.
        var text: [UInt8] = []
        text.reserveCapacity(256)
        text.append(literal: "    <testcase classname=\"")
        text.append(text: Escape.xml(session.id))
        text.append(literal: "\" name=\"")
        text.append(text: Escape.xml(name + " → " + codes))
        text.append(literal: "\" time=\"")
        text.append(text: time)
        text.append(literal: "\">\n")
        var wire = "", lines = 0
        for r in e.replies {
            r.reply.forEachLine { line in
                if lines > 0 { wire += "\n" }
                wire += String(decoding: line, as: UTF8.self)
                lines += 1
            }
        }
        let escapedWire = Escape.xml(wire)
        if !reasons.isEmpty {
            text.append(literal: "      <failure message=\"")
            text.append(text: Escape.xml(reasons.joined(separator: "; ")))
            text.append(literal: "\" type=\"ftp\">")
            text.append(text: escapedWire)
            text.append(literal: "</failure>\n")
        }
        if !wire.isEmpty {
            text.append(literal: "      <system-out>")
            text.append(text: escapedWire)
            text.append(literal: "</system-out>\n")
        }
        text.append(literal: "    </testcase>\n")
        return Section(text: String(decoding: text, as: UTF8.self), tests: 1, failures: reasons.isEmpty ? 0 : 1)
    }

    /// The session's test suite around its test cases, with a case for its gaps.
    static func suite(_ s: SessionReport, _ cases: Section, _ policy: Policy) -> Section {
        var cases = cases
        let gapFailures = s.gaps.flatMap { policy.violations(of: $0) }
        if !gapFailures.isEmpty {
            cases.append(Section(text: "    <testcase classname=\"\(Escape.xml(s.summary.session.id))\" name=\"capture completeness\" time=\"0\">\n"
                                 + "      <failure message=\"\(Escape.xml(gapFailures.joined(separator: "; ")))\" type=\"gap\"/>\n    </testcase>\n",
                                 tests: 1, failures: 1))
        }
        let name = "\(s.summary.session.id) \(s.summary.session.clientText) → \(s.summary.session.serverText)"
        var suite = "  <testsuite name=\"\(Escape.xml(name))\" tests=\"\(cases.tests)\" failures=\"\(cases.failures)\" errors=\"0\" skipped=\"0\" "
        suite += "time=\"\(fixed(s.summary.durationMilliseconds / 1000, 6))\" timestamp=\"\(isoTime(s.summary.first.nanoseconds))\">\n"
        return Section(text: suite + cases.text + "  </testsuite>\n", tests: cases.tests, failures: cases.failures)
    }

    private static func isoTime(_ ns: Int64) -> String {
        let t = UTCTime.format(ns)
        return String(t.prefix(19)).replacing(" ", with: "T")
    }
}
