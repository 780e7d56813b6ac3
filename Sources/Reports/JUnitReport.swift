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
    /// Built as bytes, each piece escaped on its own (XML escaping is per character, so the
    /// pieces escaped apart read as the whole escaped at once): a test case per exchange is
    /// most of a JUnit report's rendering, and building the name and the wire text as strings
    /// first cost about 17,000 instructions per test case.
    static func testCase(_ e: Exchange, _ session: SessionIdentity, _ policy: Policy) -> Section {
        var reasons = e.replies.flatMap { policy.violations(of: $0) }
        if e.replies.isEmpty && policy.rules.contains(.anomaly) { reasons.append("no reply") }
        var text: [UInt8] = []
        text.reserveCapacity(512)
        text.append(literal: "    <testcase classname=\"")
        text.append(text: Escape.xml(session.id))
        text.append(literal: "\" name=\"")
        if let command = e.command {
            text.append(text: Escape.xml(command))
            if let argument = e.argument { text.append(literal: " "); text.append(text: Escape.xml(argument)) }
        } else {
            text.append(literal: "(greeting or unsolicited)")
        }
        text.append(literal: " → ")
        var first = true
        for r in e.replies {
            guard let code = r.reply.code else { continue }
            if !first { text.append(literal: ", ") }
            text.append(digits: code, width: 1)
            first = false
        }
        text.append(literal: "\" time=\"")
        if let ms = e.replies.last?.latencyMilliseconds { text.append(fixed: ms / 1000, decimals: 6) } else { text.append(literal: "0") }
        text.append(literal: "\">\n")
        // The replies' lines, joined by newlines and escaped line by line.
        var wire: [UInt8] = [], lines = 0
        for r in e.replies {
            r.reply.forEachLine { line in
                if lines > 0 { wire.append(0x0A) }
                wire.append(text: Escape.xml(String(decoding: line, as: UTF8.self)))
                lines += 1
            }
        }
        if !reasons.isEmpty {
            text.append(literal: "      <failure message=\"")
            text.append(text: Escape.xml(reasons.joined(separator: "; ")))
            text.append(literal: "\" type=\"ftp\">")
            text.append(contentsOf: wire)
            text.append(literal: "</failure>\n")
        }
        if lines > 1 || !wire.isEmpty {
            text.append(literal: "      <system-out>")
            text.append(contentsOf: wire)
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

    /// `YYYY-MM-DDThh:mm:ss`. (`replacing(" ", with: "T")` built a string searcher per session.)
    private static func isoTime(_ ns: Int64) -> String {
        var t: [UInt8] = []
        UTCTime.write(ns, to: &t)
        return String(decoding: t.prefix(19).map { $0 == 0x20 ? 0x54 : $0 }, as: UTF8.self)
    }
}
