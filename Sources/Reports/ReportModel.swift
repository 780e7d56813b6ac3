import FTPSession
import PacketCapture
import ReplyCatalog

/// One command and the replies that answered it (or a reply nothing asked for).
public struct Exchange: Sendable {
    public var timestamp: Timestamp
    public var command: String?
    public var argument: String?
    public var replies: [ReplyEvent]
    /// The command's number in its session (`CommandEvent.number`), or that of the command a
    /// reply answered when the reply began the exchange; nil for the greeting and replies
    /// nothing asked for.
    var number: Int? = nil
    /// The command's anomalies that no reply carries (`SessionAnomaly.ofCommandOnly`).
    public var anomalies: [String] = []
}

/// An anomaly as the reports list it, with the record that carries it.
public struct ListedAnomaly: Sendable {
    public enum Record: String, Sendable { case reply, command, session }
    public var timestamp: Timestamp
    public var session: String
    public var name: String
    /// The reply's first line or the command as sent (a PASS argument masked), cut at
    /// `maxLineCharacters`; empty for a session's.
    public var line: String
    public var record: Record

    /// A list of thousands of anomalies on lines of 64 KiB (`command line too long`) would be
    /// a report of hundreds of megabytes; the records keep the whole line.
    static let maxLineCharacters = 300

    init(_ timestamp: Timestamp, _ session: String, _ name: String, _ line: String, _ record: Record) {
        self.timestamp = timestamp; self.session = session; self.name = name; self.record = record
        self.line = line.count > Self.maxLineCharacters ? line.prefix(Self.maxLineCharacters) + "…" : line
    }
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
    /// Anomalies the session's record counts beyond those its replies and commands carried
    /// (a command never answered, an overflowing buffer, replies a lost 234 took with it),
    /// by name, in the order `SessionAnomaly` lists them.
    public var ofSessionOnly: [(name: String, count: Int)] = []
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
    /// Every anomaly of a reply, of a command that no reply carries, and of a session's own
    /// record, in the order they were found; the first `maxAnomaliesListed`.
    public private(set) var anomalies: [ListedAnomaly] = []
    static let maxAnomaliesListed = 10_000
    public private(set) var slowest: [ReplyEvent] = []
    /// The latency of the 20th of `slowest` when it was last cut back to 20.
    private var slowestFloor: Double?
    public private(set) var replyTimeline: [(Timestamp, Int)] = []
    public var summary = CaptureSummary()
    public var files = 0
    /// What went wrong with the inputs themselves (a capture cut short, a file that could not
    /// be read), for the report's reader: a CI artifact is read without the job's stderr.
    public var warnings: [String] = []
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
    /// Bytes of rendered parts open sessions may hold together before those of long sessions
    /// are moved to `spill`.
    public let heldPartsBudget: Int
    private var heldPartBytes = 0
    /// When `heldPartBytes` passes this, parts are spilled.
    private var spillAt: Int
    /// Parts smaller than this stay in memory. Many short sessions open at once hold a few
    /// kilobytes each, and spilling those wrote and read back the whole report once more in
    /// pieces of a few hundred bytes (a JUnit report with 100,000 sessions open: 6.2 → 8.3 s
    /// for 464 → 342 MB); the memory that grows without bound is a long session's, one
    /// test case or table row per exchange for as long as it stays open.
    public let minimumSpilledBytes: Int
    /// Made at the first spill.
    private var spill: PartSpill?
    /// Where the spilled parts of open sessions lie, in order, before those in their `parts`:
    /// apart from `open`, since only long sessions ever have any.
    private var spilled: [ObjectIdentifier: (chunks: [PartSpill.Chunk], bytes: Int)] = [:]
    /// How many passes moved parts to `spill`.
    private(set) var spills = 0
    public private(set) var sectionTests = 0
    public private(set) var sectionFailures = 0
    /// Violations of ended sessions' replies, in session order, then of gaps; the first
    /// `maxViolationsKept` of each kind are kept, all are counted.
    private var replyViolations: [String] = []
    private var gapViolations: [String] = []
    public private(set) var violationCount = 0
    public static let maxViolationsKept = 10_000
    static let maxGapsPerSession = 100

    /// Exchanges a session holds while they may still get replies, before the first is
    /// rendered anyway: a client that sends commands nobody answers holds no more.
    static let maxHeldExchanges = 32

    private struct OpenSession {
        /// With `sections`, the exchanges that may still get replies and those after them;
        /// earlier ones are rendered into `parts`.
        var exchanges: [Exchange] = []
        /// The highest command number a reply answered. Replies answer commands in order, so
        /// an exchange of a lower number gets no more.
        var answered = 0
        /// Without `sections`: how many exchanges at the front of `exchanges` get no more
        /// replies (with `sections` those are rendered at once). Both settle the same ones, so
        /// that the reports they make are the same.
        var settled = 0
        /// The first command whose exchange the cap dropped: its replies and those of every
        /// later command are dropped with it, not counted again.
        var droppedFrom: Int?
        var parts = SectionRenderer.Section()
        var rendered = 0
        var dropped = 0
        var violations: [String] = []
        var violationCount = 0
        var gaps: [GapEvent] = []
        /// Anomalies replies and commands carried, by name: what the session's record counts
        /// beyond them is the session's own.
        var carried: [String: Int] = [:]

        /// Where the exchange of command `n` is held while it may get replies: among the last
        /// `maxHeldExchanges` at most, searched from the latest.
        func heldExchange(number n: Int) -> Int? {
            exchanges[settled...].lastIndex { $0.number == n }
        }
    }

    /// With `sections`, each session's section is rendered when it ends and spooled
    /// (`spools`); with `rows`, its row of the table of sessions (`rowSpools`), and ended
    /// sessions are counted, not kept.
    /// `heldPartsBudget` bounds the rendered parts that sessions still open hold in memory,
    /// apart from those smaller than `minimumSpilledBytes`.
    public init(maxExchangesPerSession: Int = 5_000, policy: Policy = Policy(), keepExchanges: Bool = true,
                sections: SectionRenderer? = nil, rows: SessionRows? = nil,
                heldPartsBudget: Int = 32 << 20, minimumSpilledBytes: Int = 4_096) {
        self.maxExchangesPerSession = maxExchangesPerSession
        self.heldPartsBudget = heldPartsBudget
        self.minimumSpilledBytes = minimumSpilledBytes
        spillAt = heldPartsBudget
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
            let own = c.anomalies.isEmpty ? [] : c.anomalies.filter { Self.commandOnly.contains($0) }
            // Decoded only when something shows it: a Markdown or JSON report keeps no exchanges.
            guard keepsExchanges || !own.isEmpty else { return }
            let argument = c.argument.map { String(decoding: $0, as: UTF8.self) }
            if !own.isEmpty {
                // A line without a verb is shown as it came (reports escape it); a PASS
                // argument as the event has it, masked unless asked otherwise.
                let line = c.command.verb.map { v in argument.map { v + " " + $0 } ?? v }
                    ?? String(decoding: c.command.raw, as: UTF8.self)
                for a in own where anomalies.count < Self.maxAnomaliesListed {
                    anomalies.append(ListedAnomaly(c.timestamp, c.session.id, a, line, .command))
                }
                carried(own, by: c.session)
                note(policy.violations(ofCommandAnomalies: own), of: c.session)
            }
            guard keepsExchanges else { return }
            let exchange = Exchange(timestamp: c.timestamp, command: c.command.verb ?? "?",
                                    argument: argument, replies: [], number: c.number, anomalies: own)
            hold(c.session) { _ in exchange }
        case .reply(let r):
            if let code = r.reply.code {
                precondition(codeTally.indices.contains(code), "a reply code has three digits")
                codeTally[code] += 1
                if replyTimeline.count < 100_000 { replyTimeline.append((r.timestamp, code / 100)) }
            }
            if !r.anomalies.isEmpty && anomalies.count < Self.maxAnomaliesListed {
                let firstLine = String(decoding: r.reply.firstLine, as: UTF8.self)
                for a in r.anomalies where anomalies.count < Self.maxAnomaliesListed {
                    anomalies.append(ListedAnomaly(r.timestamp, r.session.id, a, firstLine, .reply))
                }
            }
            if !r.anomalies.isEmpty { carried(r.anomalies, by: r.session) }
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
            note(policy.violations(of: r), of: r.session)
            guard keepsExchanges else { return }
            // A reply joins the exchange of the command it answers while that is held, however
            // many commands a pipelining client sent after it; otherwise it begins one.
            hold(r.session) { o in
                if let n = r.commandNumber {
                    o.answered = max(o.answered, n)
                    if let i = o.heldExchange(number: n) { o.exchanges[i].replies.append(r); return nil }
                }
                return Exchange(timestamp: r.timestamp, command: r.command,
                                argument: r.argument.map { String(decoding: $0, as: UTF8.self) }, replies: [r],
                                number: r.commandNumber)
            }
        case .gap(let g):
            let found = policy.violations(of: g)
            violationCount += found.count
            for v in found where gapViolations.count < Self.maxViolationsKept { gapViolations.append("\(g.session.id): \(v)") }
            let key = ObjectIdentifier(g.session)
            if (open[key]?.gaps.count ?? 0) < Self.maxGapsPerSession { open[key, default: OpenSession()].gaps.append(g) }
        case .session(let s):
            let entry = open.removeValue(forKey: ObjectIdentifier(s.session)) ?? OpenSession()
            let spilledParts = spilled.isEmpty ? nil : spilled.removeValue(forKey: ObjectIdentifier(s.session))
            violationCount += entry.violationCount
            replyViolations += entry.violations.prefix(max(0, Self.maxViolationsKept - replyViolations.count))
            // What the record counts beyond what replies and commands carried is the session's
            // own, whichever anomaly it is: a fixed list of such anomalies missed those that are
            // sometimes a reply's and sometimes not.
            let own: [(name: String, count: Int)] = s.anomalies.isEmpty ? [] : Policy.anomalyNames.compactMap { name in
                let n = (s.anomalies[name] ?? 0) - (entry.carried[name] ?? 0)
                return n > 0 ? (name, n) : nil
            }
            for (name, n) in own where anomalies.count < Self.maxAnomaliesListed {
                anomalies.append(ListedAnomaly(s.last, s.session.id, name + (n > 1 ? " ×\(n)" : ""), "", .session))
            }
            let lostData = policy.violations(ofTransfers: s.transfers, unlisted: s.unlisted)
            violationCount += lostData.count
            for v in lostData where gapViolations.count < Self.maxViolationsKept { gapViolations.append("\(s.session.id): \(v)") }
            let ofSession = policy.violations(ofSessionAnomalies: own)
            violationCount += ofSession.count
            for v in ofSession where replyViolations.count < Self.maxViolationsKept { replyViolations.append("\(s.session.id): \(v)") }
            var report = SessionReport(summary: s, exchanges: entry.exchanges, droppedExchanges: entry.dropped,
                                       gaps: entry.gaps, ofSessionOnly: own)
            sessionCount += 1
            if let rows { spool(rows.row(s), separator: rows.separator) }
            if let sections {
                heldPartBytes -= entry.parts.text.count
                spillAt = max(heldPartsBudget, min(spillAt, heldPartBytes + heldPartsBudget))
                var parts = entry.parts
                let frame = sections.close(report, parts: &parts, policy: policy)
                report.exchanges = []
                if spools.isEmpty { spools.append(SectionSpool()) }
                let spool = spools[0]
                spool.append(frame.head)
                for chunk in spilledParts?.chunks ?? [] { spill?.read(chunk) { spool.append(bytes: $0) } }
                spool.append(parts.text)
                spool.append(frame.tail)
                sectionTests += frame.tests
                sectionFailures += frame.failures
            }
            if rows == nil { sessions.append(report) }
        }
    }

    /// Anomalies a command never carries onward to a reply, as the session layer names them.
    private static let commandOnly = Set(SessionAnomaly.ofCommandOnly.map(\.rawValue))

    /// Counts the anomalies a reply or command of a session carried.
    private mutating func carried(_ names: [String], by session: SessionIdentity) {
        let key = ObjectIdentifier(session)
        for a in names { open[key, default: OpenSession()].carried[a, default: 0] += 1 }
    }

    /// Counts a session's violations, keeping the first `maxViolationsKept`, until it ends.
    private mutating func note(_ found: [String], of session: SessionIdentity) {
        guard !found.isEmpty else { return }
        let key = ObjectIdentifier(session), id = session.id
        open[key, default: OpenSession()].violationCount += found.count
        for v in found where (open[key]?.violations.count ?? 0) < Self.maxViolationsKept {
            open[key, default: OpenSession()].violations.append("\(id): \(v)")
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

    /// Changes the session's entry where it lies and holds the exchange `change` returns, if
    /// any; with `sections`, renders the exchanges at the front that can get no more replies.
    private mutating func hold(_ session: SessionIdentity, _ change: (inout OpenSession) -> Exchange?) {
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
        // Returns how much the parts grew.
        heldPartBytes += inPlace(&open.values[found!]) { o -> Int in
            let exchange = change(&o)
            if let exchange {
                if o.rendered + o.exchanges.count < cap {
                    // A reply that begins an exchange (the greeting, a reply nothing asked for)
                    // goes before the commands still waiting for their first reply, so that the
                    // exchanges are in the order of their first replies, as their times show.
                    var at = o.exchanges.endIndex
                    if !exchange.replies.isEmpty {
                        while at > o.settled, o.exchanges[at - 1].replies.isEmpty { at -= 1 }
                    }
                    // Appending is the usual case, and insert(at:) goes through the generic
                    // replaceSubrange even at the end.
                    if at == o.exchanges.endIndex { o.exchanges.append(exchange) } else { o.exchanges.insert(exchange, at: at) }
                } else if let first = o.droppedFrom, let n = exchange.number, n >= first, !exchange.replies.isEmpty {
                    // A reply to a command whose exchange was dropped: counted with it.
                } else {
                    o.dropped += 1
                    if exchange.replies.isEmpty, o.droppedFrom == nil { o.droppedFrom = exchange.number }
                }
            }
            // Settled: the greeting and replies nothing asked for, exchanges of commands before
            // the latest one answered, and, when a command comes, the oldest beyond the most
            // held (counted only then: late replies to those let go must not let go more).
            let command = exchange?.replies.isEmpty == true
            var settled = o.settled
            while settled < o.exchanges.count,
                  (o.exchanges[settled].number.map { $0 < o.answered } ?? true)
                    || (command && o.exchanges.count - settled > Self.maxHeldExchanges) {
                settled += 1
            }
            guard let sections else { o.settled = settled; return 0 }
            guard settled > 0 else { return 0 }
            let before = o.parts.text.count
            // Moved out one by one (a handful at most): iterating a slice copied each exchange,
            // a retain and a release for every reply and string it holds.
            for _ in 0..<settled { sections.exchange(o.exchanges.removeFirst(), session, policy, &o.parts) }
            o.rendered += settled
            return o.parts.text.count - before
        }
        if heldPartBytes > spillAt { spillParts() }
    }

    /// Moves the rendered parts of every open session that holds at least
    /// `minimumSpilledBytes` to the spill file, in one pass: the next spill is due when as
    /// much again has been rendered, so the parts held stay under the budget plus what the
    /// short sessions hold.
    private mutating func spillParts() {
        if spill == nil { spill = PartSpill() }
        guard let spill else { return }
        let minimum = minimumSpilledBytes
        var moved = 0
        // Index by index: `open.values.indices` holds the dictionary's storage while the loop
        // changes it, so the first change copied the whole dictionary and every session's
        // arrays after it.
        var i = open.values.startIndex
        while i != open.values.endIndex {
            let taken = inPlace(&open.values[i]) { o -> [UInt8]? in
                guard o.parts.text.count >= minimum else { return nil }
                defer { o.parts.text = [] }
                return o.parts.text
            }
            if let taken {
                spilled[open.keys[i], default: ([], 0)].chunks.append(spill.write(taken))
                spilled[open.keys[i]]!.bytes += taken.count
                moved += taken.count
            }
            open.values.formIndex(after: &i)
        }
        heldPartBytes -= moved
        spillAt = heldPartBytes + heldPartsBudget
        if moved > 0 { spills += 1 }
    }

    /// Adds what another collector gathered (another file of the same run), after this one's.
    public mutating func merge(_ o: ReportCollector) {
        sessions += o.sessions
        sessionCount += o.sessionCount
        rowSpools += o.rowSpools
        // Another collector's open sessions (sessions a file left open) take their parts
        // back from its spill: chunks name places in that collector's file.
        for (k, var v) in o.open {
            if let parts = o.spilled[k], let from = o.spill {
                var text: [UInt8] = []
                text.reserveCapacity(parts.bytes + v.parts.text.count)
                for chunk in parts.chunks { from.read(chunk) { text.append(contentsOf: $0) } }
                v.parts.text.withUnsafeBytes { text.append(contentsOf: $0) }
                v.parts.text = text
            }
            heldPartBytes += v.parts.text.count
            open[k] = v
        }
        for code in codeTally.indices { codeTally[code] += o.codeTally[code] }
        warnings += o.warnings
        anomalies += o.anomalies.prefix(max(0, Self.maxAnomaliesListed - anomalies.count))
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
