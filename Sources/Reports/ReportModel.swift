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
    public var exchanges: [Exchange]
    /// Exchanges beyond the cap, counted only.
    public var droppedExchanges: Int
}

/// Collects analysis events into the data every report format renders. Exchanges per session
/// are capped so one endless session cannot grow the report without bound.
public struct ReportCollector: Sendable {
    public private(set) var sessions: [SessionReport] = []
    private var open: [String: (exchanges: [Exchange], dropped: Int)] = [:]
    public private(set) var codes: [Int: Int] = [:]
    public private(set) var classes: [String: Int] = [:]
    public private(set) var anomalies: [(timestamp: Timestamp, session: String, name: String, line: String)] = []
    public private(set) var slowest: [ReplyEvent] = []
    public private(set) var gaps: [GapEvent] = []
    public private(set) var replyTimeline: [(Timestamp, Int)] = []
    public var summary = CaptureSummary()
    public var files = 0
    public let maxExchangesPerSession: Int

    public init(maxExchangesPerSession: Int = 5_000) { self.maxExchangesPerSession = maxExchangesPerSession }

    public mutating func add(_ event: AnalysisEvent) {
        switch event {
        case .command(let c):
            append(c.session.id, Exchange(timestamp: c.timestamp, command: c.command.verb ?? "?",
                                          argument: c.argument.map { String(decoding: $0, as: UTF8.self) }, replies: []))
        case .reply(let r):
            if let code = r.reply.code {
                codes[code, default: 0] += 1
                classes["\(code / 100)xx", default: 0] += 1
                if replyTimeline.count < 100_000 { replyTimeline.append((r.timestamp, code / 100)) }
            }
            let firstLine = String(decoding: r.reply.firstLine, as: UTF8.self)
            for a in r.anomalies where anomalies.count < 10_000 {
                anomalies.append((r.timestamp, r.session.id, a, firstLine))
            }
            if r.latencyMilliseconds != nil, r.command != nil {
                slowest.append(r)
                if slowest.count > 40 {
                    slowest.sort { ($0.latencyMilliseconds ?? 0) > ($1.latencyMilliseconds ?? 0) }
                    slowest.removeLast(slowest.count - 20)
                }
            }
            var entry = open[r.session.id] ?? ([], 0)
            // A reply joins the exchange of the command it answers when that is the latest one.
            if let last = entry.exchanges.indices.last, r.command != nil, entry.exchanges[last].command == r.command {
                entry.exchanges[last].replies.append(r)
                open[r.session.id] = entry
            } else {
                open[r.session.id] = entry
                append(r.session.id, Exchange(timestamp: r.timestamp, command: r.command,
                                              argument: r.argument.map { String(decoding: $0, as: UTF8.self) }, replies: [r]))
            }
        case .gap(let g):
            if gaps.count < 10_000 { gaps.append(g) }
        case .session(let s):
            let entry = open.removeValue(forKey: s.session.id) ?? ([], 0)
            sessions.append(SessionReport(summary: s, exchanges: entry.exchanges, droppedExchanges: entry.dropped))
        }
    }

    private mutating func append(_ session: String, _ exchange: Exchange) {
        var entry = open[session] ?? ([], 0)
        if entry.exchanges.count < maxExchangesPerSession { entry.exchanges.append(exchange) } else { entry.dropped += 1 }
        open[session] = entry
    }

    /// Adds what another collector gathered (another file of the same run), after this one's.
    public mutating func merge(_ o: ReportCollector) {
        sessions += o.sessions
        for (k, v) in o.open { open[k] = v }
        for (k, v) in o.codes { codes[k, default: 0] += v }
        for (k, v) in o.classes { classes[k, default: 0] += v }
        anomalies += o.anomalies.prefix(max(0, 10_000 - anomalies.count))
        slowest += o.slowest
        gaps += o.gaps.prefix(max(0, 10_000 - gaps.count))
        replyTimeline += o.replyTimeline.prefix(max(0, 100_000 - replyTimeline.count))
        summary.merge(o.summary)
        files += o.files
    }

    public var slowestReplies: [ReplyEvent] {
        Array(slowest.sorted { ($0.latencyMilliseconds ?? 0) > ($1.latencyMilliseconds ?? 0) }.prefix(10))
    }
}
