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
                  + "<testsuites name=\"ftpscope\" tests=\"\(tests + c.warnings.count)\" failures=\"\(failures)\" "
                  + "errors=\"\(c.warnings.count)\">\n", to: out)
        for s in inMemory { s.text.withUnsafeBytes(out) }
        for spool in c.spools { spool.forEachChunk(out) }
        writeUTF8(Self.inputErrors(c.warnings) + "</testsuites>\n", to: out)
    }

    /// The inputs' own troubles (a capture cut short, a file not read) as errors, JUnit's word
    /// for a test that could not run as it should: CI test views show them beside failures.
    static func inputErrors(_ warnings: [String]) -> String {
        guard !warnings.isEmpty else { return "" }
        var x = "  <testsuite name=\"capture files\" tests=\"\(warnings.count)\" failures=\"0\" errors=\"\(warnings.count)\" skipped=\"0\" time=\"0\">\n"
        for w in warnings {
            let text = Escape.xml(w)
            x += "    <testcase classname=\"capture files\" name=\"\(text)\" time=\"0\"><error message=\"\(text)\" type=\"input\"/></testcase>\n"
        }
        return x + "  </testsuite>\n"
    }

    public typealias Section = SectionRenderer.Section

    /// Renders each exchange's test case as the next begins and each session's test suite as it ends.
    public static let sections = SectionRenderer(exchange: testCase, frame: suite)

    /// One session's test suite: a test case per exchange, and one for its gaps when the policy
    /// fails on them.
    static func section(_ s: SessionReport, policy: Policy) -> Section { sections.render(s, policy: policy) }

    /// One command/reply exchange as a test case, failed where the policy says so, appended to
    /// the session's cases. Built as bytes, each piece escaped on its own (XML escaping is per
    /// character, so the pieces escaped apart read as the whole escaped at once): a test case
    /// per exchange is most of a JUnit report's rendering, and building the name and the wire
    /// text as strings first cost about 17,000 instructions per test case.
    static func testCase(_ e: Exchange, _ session: SessionIdentity, _ policy: Policy, into cases: inout Section) {
        // The replies are read where they lie, by index: `for r in e.replies`, `flatMap` and
        // `last` copied each event with its references.
        let replies = e.replies.indices
        var reasons = e.anomalies.isEmpty ? [] : policy.violations(ofCommandAnomalies: e.anomalies)
        var wireBytes = 0
        for i in replies {
            reasons += policy.violations(of: e.replies[i])
            wireBytes += e.replies[i].reply.storage.count
        }
        // The wire text (twice for a failure) and about 200 bytes of markup and names.
        cases.makeRoom((reasons.isEmpty ? 1 : 2) * wireBytes + 224 + (e.argument?.utf8.count ?? 0)
                       + reasons.reduce(0) { $0 + $1.utf8.count + 2 })
        if replies.isEmpty && policy.rules.contains(.anomaly) { reasons.append("no reply") }
        cases.tests += 1
        if !reasons.isEmpty { cases.failures += 1 }
        cases.text.append(literal: "    <testcase classname=\"")
        session.withFields { id, _, _ in cases.text.append(xml: id) }
        cases.text.append(literal: "\" name=\"")
        if let command = e.command {
            cases.text.append(text: Escape.xml(command))
            if let argument = e.argument { cases.text.append(literal: " "); cases.text.append(text: Escape.xml(argument)) }
        } else {
            cases.text.append(literal: "(greeting or unsolicited)")
        }
        cases.text.append(literal: " → ")
        var first = true
        for i in replies {
            guard let code = e.replies[i].reply.code else { continue }
            if !first { cases.text.append(literal: ", ") }
            cases.text.append(digits: code, width: 1)
            first = false
        }
        cases.text.append(literal: "\" time=\"")
        if let last = replies.last, let ms = e.replies[last].latencyMilliseconds {
            cases.text.append(fixed: ms / 1000, decimals: 6)
        } else {
            cases.text.append(literal: "0")
        }
        cases.text.append(literal: "\">\n")
        // The replies' lines, joined by newlines and escaped line by line; written where they
        // go (twice for a failure), not gathered in a buffer of their own.
        var lines = 0, bytes = 0
        func wire(_ text: inout [UInt8]) {
            lines = 0
            for i in replies {
                e.replies[i].reply.forEachLine { line in
                    if lines > 0 { text.append(0x0A) }
                    text.append(xml: line)
                    lines += 1
                    bytes += line.count
                }
            }
        }
        if !reasons.isEmpty {
            cases.text.append(literal: "      <failure message=\"")
            cases.text.append(text: Escape.xml(reasons.joined(separator: "; ")))
            cases.text.append(literal: "\" type=\"ftp\">")
            wire(&cases.text)
            cases.text.append(literal: "</failure>\n")
        }
        // What the wire text would be decides whether there is one: more than one line, or a
        // line that is not empty.
        let mark = cases.text.count
        cases.text.append(literal: "      <system-out>")
        bytes = 0
        wire(&cases.text)
        if lines > 1 || bytes > 0 {
            cases.text.append(literal: "</system-out>\n")
        } else {
            cases.text.removeSubrange(mark...)
        }
        cases.text.append(literal: "    </testcase>\n")
    }

    /// The session's test suite around its test cases, with a case for its gaps and one for
    /// what the policy finds in the session's own record.
    static func suite(_ s: SessionReport, _ cases: (tests: Int, failures: Int), _ policy: Policy) -> SectionRenderer.Frame {
        var tests = cases.tests, failures = cases.failures
        var tail: [UInt8] = []
        let gapFailures = s.gaps.flatMap { policy.violations(of: $0) } + policy.violations(ofTransfers: s.summary.transfers, unlisted: s.summary.unlisted)
        if !gapFailures.isEmpty {
            tail.append(text: "    <testcase classname=\"\(Escape.xml(s.summary.session.id))\" name=\"capture completeness\" time=\"0\">\n"
                        + "      <failure message=\"\(Escape.xml(gapFailures.joined(separator: "; ")))\" type=\"gap\"/>\n    </testcase>\n")
            tests += 1; failures += 1
        }
        // What only the session's record shows: commands never answered, streams that overflowed.
        let sessionFailures = policy.violations(ofSessionAnomalies: s.ofSessionOnly)
        if !sessionFailures.isEmpty {
            tail.append(text: "    <testcase classname=\"\(Escape.xml(s.summary.session.id))\" name=\"session\" time=\"0\">\n"
                        + "      <failure message=\"\(Escape.xml(sessionFailures.joined(separator: "; ")))\" type=\"anomaly\"/>\n    </testcase>\n")
            tests += 1; failures += 1
        }
        tail.append(literal: "  </testsuite>\n")
        // As bytes, the name's pieces escaped apart (see `testCase`): as strings, with the
        // session's fields decoded from its bytes, a suite's heading cost about 20,000
        // instructions.
        var head: [UInt8] = []
        head.reserveCapacity(256)
        head.append(literal: "  <testsuite name=\"")
        s.summary.session.withFields { id, server, client in
            head.append(xml: id); head.append(literal: " "); head.append(xml: client)
            head.append(literal: " → "); head.append(xml: server)
        }
        head.append(literal: "\" tests=\"")
        head.append(digits: tests, width: 1)
        head.append(literal: "\" failures=\"")
        head.append(digits: failures, width: 1)
        head.append(literal: "\" errors=\"0\" skipped=\"0\" time=\"")
        head.append(fixed: s.summary.durationMilliseconds / 1000, decimals: 6)
        head.append(literal: "\" timestamp=\"")
        isoTime(s.summary.first.nanoseconds, to: &head)
        head.append(literal: "\">\n")
        return SectionRenderer.Frame(head: head, tail: tail, tests: tests, failures: failures)
    }

    /// `YYYY-MM-DDThh:mm:ss`: the first 19 bytes of the capture's time format, the space a `T`.
    private static func isoTime(_ ns: Int64, to text: inout [UInt8]) {
        let start = text.count
        UTCTime.write(ns, to: &text)
        text.removeSubrange(min(text.count, start + 19)...)
        for i in start..<text.count where text[i] == 0x20 { text[i] = 0x54 }
    }
}
