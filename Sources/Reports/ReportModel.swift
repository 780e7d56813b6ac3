import FTPSession
import PacketCapture
import ReplyCatalog

/// One command and the replies that answered it (or a reply nothing asked for).
public struct Exchange: Sendable {
    public var timestamp: Timestamp
    public var command: String?
    public var argument: String?
    public var replies: [ReplyEvent]
}

/// What a report needs of one session: its summary and its exchanges in order.
public struct SessionReport: Sendable {
    public var summary: SessionSummary
    /// Empty when the collector was told not to keep exchanges (reports that list none).
    public var exchanges: [Exchange]
    /// Exchanges beyond the cap, counted only.
    public var droppedExchanges: Int
    /// The session's gaps (the first hundred), for the reports that judge each session.
    public var gaps: [GapEvent] = []
}

/// Collects analysis events into the data every report format renders. Exchanges per session
/// are capped so one endless session cannot grow the report without bound, and a collector
/// for a report that lists no exchanges (Markdown, JSON) keeps none: its memory then grows with
/// the sessions, not with the replies. The policy is applied as replies arrive, so violations
/// are found in every reply, kept or not.
public struct ReportCollector: Sendable {
    /// Ended sessions (without their exchanges when `sections` rendered them), kept only by a
    /// collector made without `rows` (tests, small captures): the command line's collectors
    /// render and spool each session instead.
    public private(set) var sessions: [SessionReport] = []
    /// Every session that ended, kept or not.
    public private(set) var sessionCount = 0
    /// Sessions still open, by identity object: every event of a session carries the same one,
    /// and the entry goes when the session's summary arrives (nothing of it follows).
    private var open: [ObjectIdentifier: OpenSession] = [:]
    /// Replies by code and by class (`5xx`), as the reports list them.
    public var codes: [Int: Int] {
        Dictionary(uniqueKeysWithValues: codeTally.indices.lazy.filter { codeTally[$0] > 0 }.map { ($0, codeTally[$0]) })
    }
    public var classes: [String: Int] {
        var byClass: [String: Int] = [:]
        for (code, n) in codeTally.enumerated() where n > 0 { byClass["\(code / 100)xx", default: 0] += n }
        return byClass
    }
    /// Replies per code, 0–999, counted in place: a dictionary update and a class label built
    /// as a string per reply cost more than the rest of a Markdown report's collecting.
    private var codeTally = [Int](repeating: 0, count: 1000)
    public private(set) var anomalies: [(timestamp: Timestamp, session: String, name: String, line: String)] = []
    public private(set) var slowest: [ReplyEvent] = []
    /// The latency of the 20th of `slowest` when it was last cut back to 20.
    private var slowestFloor: Double?
    public private(set) var replyTimeline: [(Timestamp, Int)] = []
    public var summary = CaptureSummary()
    public var files = 0
    public let maxExchangesPerSession: Int
    public let policy: Policy
    public let keepsExchanges: Bool
    /// Renders each session's section as it ends (JUnit, HTML), when given.
    private let sections: SectionRenderer?
    /// This collector's spool, then those of collectors merged after it, in order.
    public private(set) var spools: [SectionSpool] = []
    /// Renders each session's row of the report's table of sessions as it ends, when given.
    private let rows: SessionRows?
    /// This collector's spool of rows, then those of collectors merged after it, in order.
    public private(set) var rowSpools: [SectionSpool] = []
    public private(set) var sectionTests = 0
    public private(set) var sectionFailures = 0
    /// Violations of ended sessions' replies, in session order, then of gaps; the first
    /// `maxViolationsKept` of each kind are kept, all are counted.
    private var replyViolations: [String] = []
    private var gapViolations: [String] = []
    public private(set) var violationCount = 0
    public static let maxViolationsKept = 10_000
    static let maxGapsPerSession = 100

    private struct OpenSession {
        /// With `sections`, only the latest exchange (it may still get replies); earlier ones
        /// are rendered into `parts`.
        var exchanges: [Exchange] = []
        var parts = SectionRenderer.Section()
        var rendered = 0
        var dropped = 0
        var violations: [String] = []
        var violationCount = 0
        var gaps: [GapEvent] = []
    }

    /// With `sections`, each session's section is rendered when it ends and spooled
    /// (`spools`); with `rows`, its row of the table of sessions (`rowSpools`), and ended
    /// sessions are counted, not kept.
    public init(maxExchangesPerSession: Int = 5_000, policy: Policy = Policy(), keepExchanges: Bool = true,
                sections: SectionRenderer? = nil, rows: SessionRows? = nil) {
        self.maxExchangesPerSession = maxExchangesPerSession
        self.policy = policy
        self.keepsExchanges = keepExchanges || sections != nil
        self.sections = sections
        self.rows = rows
    }

    /// Every violation kept: those of replies, session by session, then those of gaps.
    public var violations: [String] { replyViolations + gapViolations }

    public mutating func add(_ event: AnalysisEvent) {
        switch event {
        case .command(let c):
            guard keepsExchanges else { return }
            append(c.session, Exchange(timestamp: c.timestamp, command: c.command.verb ?? "?",
                                       argument: c.argument.map { String(decoding: $0, as: UTF8.self) }, replies: []))
        case .reply(let r):
            if let code = r.reply.code {
                precondition(codeTally.indices.contains(code), "a reply code has three digits")
                codeTally[code] += 1
                if replyTimeline.count < 100_000 { replyTimeline.append((r.timestamp, code / 100)) }
            }
            if !r.anomalies.isEmpty && anomalies.count < 10_000 {
                let firstLine = String(decoding: r.reply.firstLine, as: UTF8.self)
                for a in r.anomalies where anomalies.count < 10_000 {
                    anomalies.append((r.timestamp, r.session.id, a, firstLine))
                }
            }
            // Replies kept until their session ends get buffers of their own size (see
            // `Reply.compacted`); the few kept as the slowest need not.
            var r = r
            if keepsExchanges { r.reply = r.reply.compacted() }
            // A reply no slower than the 20th slowest kept when they were last cut back can never
            // be among the slowest shown: the 20 stay ahead of it in a stable sort. Sorting the
            // events themselves moves them with their references (a dozen copies per reply).
            if let ms = r.latencyMilliseconds, r.command != nil, slowestFloor.map({ ms > $0 }) ?? true {
                slowest.append(r)
                if slowest.count > 40 {
                    slowest.sort { ($0.latencyMilliseconds ?? 0) > ($1.latencyMilliseconds ?? 0) }
                    slowest.removeLast(slowest.count - 20)
                    slowestFloor = slowest[19].latencyMilliseconds
                }
            }
            let key = ObjectIdentifier(r.session)
            let found = policy.violations(of: r)
            if !found.isEmpty {
                let id = r.session.id
                open[key, default: OpenSession()].violationCount += found.count
                for v in found where (open[key]?.violations.count ?? 0) < Self.maxViolationsKept {
                    open[key, default: OpenSession()].violations.append("\(id): \(v)")
                }
            }
            guard keepsExchanges else { return }
            // A reply joins the exchange of the command it answers when that is the latest one
            // (the entry found once and changed where it lies).
            if r.command != nil, let i = open.index(forKey: key), inPlace(&open.values[i], { o in
                guard let last = o.exchanges.indices.last, o.exchanges[last].command == r.command else { return false }
                o.exchanges[last].replies.append(r)
                return true
            }) {
                return
            }
            append(r.session, Exchange(timestamp: r.timestamp, command: r.command,
                                       argument: r.argument.map { String(decoding: $0, as: UTF8.self) }, replies: [r]))
        case .gap(let g):
            let found = policy.violations(of: g)
            violationCount += found.count
            for v in found where gapViolations.count < Self.maxViolationsKept { gapViolations.append("\(g.session.id): \(v)") }
            let key = ObjectIdentifier(g.session)
            if (open[key]?.gaps.count ?? 0) < Self.maxGapsPerSession { open[key, default: OpenSession()].gaps.append(g) }
        case .session(let s):
            let entry = open.removeValue(forKey: ObjectIdentifier(s.session)) ?? OpenSession()
            violationCount += entry.violationCount
            replyViolations += entry.violations.prefix(max(0, Self.maxViolationsKept - replyViolations.count))
            var report = SessionReport(summary: s, exchanges: entry.exchanges, droppedExchanges: entry.dropped,
                                       gaps: entry.gaps)
            sessionCount += 1
            if let rows { spool(rows.row(s), separator: rows.separator) }
            if let sections {
                let section = sections.render(report, after: entry.parts, policy: policy)
                report.exchanges = []
                if spools.isEmpty { spools.append(SectionSpool()) }
                spools[0].append(section.text)
                sectionTests += section.tests
                sectionFailures += section.failures
            }
            if rows == nil { sessions.append(report) }
        }
    }

    /// A row of the table of sessions, after the one before it; an empty row (a report without
    /// the table) writes nothing.
    private mutating func spool(_ row: [UInt8], separator: [UInt8]) {
        guard !row.isEmpty else { return }
        if rowSpools.isEmpty { rowSpools.append(SectionSpool()) }
        if rowSpools[0].byteCount > 0 { separator.withUnsafeBytes { rowSpools[0].append(bytes: $0) } }
        row.withUnsafeBytes { rowSpools[0].append(bytes: $0) }
    }

    private mutating func append(_ session: SessionIdentity, _ exchange: Exchange) {
        guard keepsExchanges else { return }
        let key = ObjectIdentifier(session)
        // Changed where it lies, through the accessor that yields it in place: taking the entry
        // out and putting it back hashed twice and moved it per exchange, and reading a field
        // through `open.values[i]` copied the whole entry (a retain and release per field).
        var found = open.index(forKey: key)
        if found == nil {
            open[key] = OpenSession()
            found = open.index(forKey: key)
        }
        let sections = self.sections, policy = self.policy, cap = maxExchangesPerSession
        inPlace(&open.values[found!]) { o in
            guard o.rendered + o.exchanges.count < cap else { o.dropped += 1; return }
            // The exchange before this one is complete: rendered now, its replies let go.
            if let sections, let done = o.exchanges.popLast() {
                sections.exchange(done, session, policy, &o.parts)
                o.rendered += 1
            }
            o.exchanges.append(exchange)
        }
    }

    /// Adds what another collector gathered (another file of the same run), after this one's.
    public mutating func merge(_ o: ReportCollector) {
        sessions += o.sessions
        sessionCount += o.sessionCount
        rowSpools += o.rowSpools
        for (k, v) in o.open { open[k] = v }
        for code in codeTally.indices { codeTally[code] += o.codeTally[code] }
        anomalies += o.anomalies.prefix(max(0, 10_000 - anomalies.count))
        slowest += o.slowest
        replyTimeline += o.replyTimeline.prefix(max(0, 100_000 - replyTimeline.count))
        replyViolations += o.replyViolations.prefix(max(0, Self.maxViolationsKept - replyViolations.count))
        gapViolations += o.gapViolations.prefix(max(0, Self.maxViolationsKept - gapViolations.count))
        violationCount += o.violationCount
        spools += o.spools
        sectionTests += o.sectionTests
        sectionFailures += o.sectionFailures
        summary.merge(o.summary)
        files += o.files
    }

    public var slowestReplies: [ReplyEvent] {
        Array(slowest.sorted { ($0.latencyMilliseconds ?? 0) > ($1.latencyMilliseconds ?? 0) }.prefix(10))
    }
}

/// `body` on a value where it lies (through the `_modify` accessor of whatever `value` names).
@inline(__always)
private func inPlace<T, R>(_ value: inout T, _ body: (inout T) -> R) -> R { body(&value) }
