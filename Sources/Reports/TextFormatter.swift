import FTPSession
import PacketCapture
import ReplyCatalog

/// Human-readable records for a terminal: one header line per reply (time, session, code,
/// the command it answers, state, latency, meaning) and the reply's lines indented below.
public struct TextFormatter: Sendable {
    public var language: Language
    public var color: Bool
    public var showCommands: Bool
    /// Records are printed under a session heading, so the session and server columns go.
    public var grouped: Bool

    public init(language: Language = .english, color: Bool = false, showCommands: Bool = false, grouped: Bool = false) {
        self.language = language; self.color = color; self.showCommands = showCommands; self.grouped = grouped
    }

    /// Pads or cuts to a column width (by characters) so rows line up.
    private func column(_ s: String, _ width: Int) -> String {
        if s.count > width { return String(s.prefix(width - 1)) + "…" }
        return s + String(repeating: " ", count: width - s.count)
    }

    private func prefix(_ ts: Timestamp, _ session: SessionIdentity) -> String {
        grouped ? UTCTime.format(ts.nanoseconds, date: false) + "  "
            : UTCTime.format(ts.nanoseconds) + "  " + session.id + "  " + session.serverText + "  "
    }

    /// The heading printed above a session's records when grouped.
    public func heading(_ s: SessionIdentity) -> String {
        paint("── session \(s.id)  \(s.clientText) → \(s.serverText) ──", "1")
    }

    private func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }

    static func colorCode(forClass c: Int?) -> String {
        switch c {
        case 1: "36"; case 2: "32"; case 3: "33"; case 4: "35"; case 5: "31"; case 6: "34"; default: "37"
        }
    }

    public func format(_ event: AnalysisEvent) -> String? {
        switch event {
        case .reply(let r):
            var head = prefix(r.timestamp, r.session)
            let codeText = r.reply.code.map { String($0) } ?? "???"
            head += paint(codeText, Self.colorCode(forClass: r.reply.code.map { $0 / 100 }))
            var asked = "(greeting)"
            if let c = r.command {
                asked = "← " + TerminalText.escape(c) + (r.argument.map { " " + TerminalText.escape($0) } ?? "")
            } else if r.reply.code != 220 && r.reply.code != 120 {
                asked = "(unsolicited)"
            }
            head += "  " + column(asked, 28) + "  " + column(r.state.rawValue, 13)
            head += "  " + column(r.latencyMilliseconds.map { fixed($0, 1) + " ms" } ?? "", 10)
            if let m = r.catalog?.meaning(language) { head += "  " + paint(m, "2") }
            if let p = r.passive { head += "  data → \(p.host ?? "(server)"):\(p.port)" }
            if let p = r.protected {
                head += "  protected: \(p.level.rawValue), \(p.payloadBytes.map { "\($0) bytes" } ?? "undecodable")"
                if let inner = p.inner { head += ", inner " + (inner.lines.first.map(TerminalText.escape) ?? "") }
            }
            if !r.anomalies.isEmpty { head += "  " + paint("! " + r.anomalies.joined(separator: "; "), "1;31") }
            var out = head
            for line in r.reply.lines { out += "\n    " + TerminalText.escape(line) }
            if r.reply.droppedLines > 0 { out += "\n    … \(r.reply.droppedLines) more lines not kept" }
            return out
        case .command(let c):
            guard showCommands else { return nil }
            var s = prefix(c.timestamp, c.session) + "→ "
            s += TerminalText.escape(c.command.verb ?? TerminalText.escape(c.command.raw))
            if let a = c.argument { s += " " + TerminalText.escape(a) }
            if let p = c.active { s += "  data ← \(p.host ?? "?"):\(p.port)" }
            if !c.anomalies.isEmpty { s += "  " + paint("! " + c.anomalies.joined(separator: "; "), "1;31") }
            return s
        case .gap(let g):
            return prefix(g.timestamp, g.session) + paint("gap: \(g.bytes) bytes from the \(g.direction.rawValue) never captured", "1;33")
        case .session(let s):
            var out = paint("session \(s.session.id)", "1") + "  \(s.session.client) → \(s.session.server)"
            out += "  user \(s.user.map(TerminalText.escape) ?? "-") (login \(s.login))"
            out += "  \(s.commands) commands, \(s.replies) replies"
            let classes = s.repliesByClass.keys.sorted().map { "\($0) \(s.repliesByClass[$0]!)" }.joined(separator: ", ")
            if !classes.isEmpty { out += " (\(classes))" }
            out += ", \(s.transfers.count) transfers, final state \(s.finalState.rawValue), \(fixed(s.durationMilliseconds / 1000, 3)) s, ended by \(s.endReason)"
            for t in s.transfers {
                out += "\n    transfer \(t.command) \(t.path.map(TerminalText.escape) ?? "")  \(t.bytes) bytes  \(t.mode ?? "?")  \(t.outcome)"
                if let f = t.finalCode { out += " (\(f))" }
                if let m = t.sizeMatches, !m { out += "  announced \(t.announcedSize!) bytes" }
            }
            if !s.anomalies.isEmpty {
                out += "\n    anomalies: " + s.anomalies.keys.sorted().map { "\($0) ×\(s.anomalies[$0]!)" }.joined(separator: ", ")
            }
            return out
        }
    }

    public func formatSummary(_ s: CaptureSummary, files: Int) -> String {
        var out = "summary: \(files) file(s), \(s.packets) packets, \(s.connections) connections, \(s.ftpSessions) FTP sessions, "
        out += "\(s.dataConnections) data connections, \(s.replies) replies, \(s.commands) commands, \(s.gaps) gaps (\(s.gapBytes) bytes), \(s.evictions) evictions"
        if !s.anomalies.isEmpty {
            out += "\nanomalies: " + s.anomalies.keys.sorted().map { "\($0) ×\(s.anomalies[$0]!)" }.joined(separator: ", ")
        }
        let malformed = s.malformed.values.reduce(0, +)
        if malformed + s.ipFragments + s.truncatedPackets > 0 {
            out += "\npackets not analyzed: \(malformed) malformed, \(s.ipFragments) IP fragments, \(s.truncatedPackets) cut by snap length"
        }
        return out
    }
}

/// Holds each session's text until the session ends, then hands it over as one block under a
/// heading: a terminal reader sees sessions one at a time, not interleaved by time. The
/// per-session buffer is bounded; past it the block is flushed early.
public final class SessionGrouper {
    private let formatter: TextFormatter
    /// Open sessions by identity object (every event of a session carries the same one; the
    /// entry goes with the session's summary, after which nothing of it follows), each with the
    /// order it started in. A list of open ids searched at every session's end made a capture
    /// with 100,000 sessions open at once take six minutes instead of fifteen seconds.
    private var pending: [ObjectIdentifier: (identity: SessionIdentity, lines: [String], started: Int)] = [:]
    private var started = 0
    public let maxBufferedPerSession: Int

    public init(formatter: TextFormatter, maxBufferedPerSession: Int = 10_000) {
        self.formatter = formatter
        self.maxBufferedPerSession = maxBufferedPerSession
    }

    /// Text ready to print after this event (possibly none).
    public func add(_ event: AnalysisEvent) -> [String] {
        let identity: SessionIdentity
        switch event {
        case .reply(let r): identity = r.session
        case .command(let c): identity = c.session
        case .gap(let g): identity = g.session
        case .session(let s): identity = s.session
        }
        guard let text = formatter.format(event) else { return [] }
        let key = ObjectIdentifier(identity)
        if pending[key] == nil {
            pending[key] = (identity, [formatter.heading(identity)], started)
            started += 1
        }
        pending[key]!.lines.append(text)
        if case .session = event {
            return pending.removeValue(forKey: key)!.lines
        }
        if pending[key]!.lines.count >= maxBufferedPerSession {
            let block = pending[key]!.lines
            pending[key]!.lines = [formatter.heading(identity) + " (continued)"]
            return block
        }
        return []
    }

    /// Whatever is still held (sessions that never ended), in the order they started.
    public func flush() -> [String] {
        defer { pending.removeAll() }
        return pending.values.sorted { $0.started < $1.started }.flatMap(\.lines)
    }
}
