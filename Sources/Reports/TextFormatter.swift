import DequeModule
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

    /// The time, and without grouping the session and server, before each record; `identity`
    /// is set to where the session id starts in `out`.
    private func writePrefix(_ ts: Timestamp, _ session: SessionIdentity, to out: inout [UInt8], identity: inout Int) {
        UTCTime.write(ts.nanoseconds, date: !grouped, to: &out)
        out.append(literal: "  ")
        guard !grouped else { return }
        session.withFields { id, server, _ in
            identity = out.count
            out.append(contentsOf: id); out.append(literal: "  ")
            out.append(contentsOf: server); out.append(literal: "  ")
        }
    }

    /// The heading printed above a session's records when grouped.
    public func heading(_ s: SessionIdentity) -> String {
        var out: [UInt8] = []
        var identity = -1
        writeHeading(s, to: &out, identity: &identity)
        return String(decoding: out, as: UTF8.self)
    }

    /// The heading as bytes (no newline); `identity` is set to where the session id starts.
    public func writeHeading(_ s: SessionIdentity, to out: inout [UInt8], identity: inout Int) {
        startPaint("1", &out)
        out.append(literal: "── session ")
        identity = out.count
        out.append(text: s.id)
        out.append(literal: "  "); out.append(text: s.clientText)
        out.append(literal: " → "); out.append(text: s.serverText)
        // Records show the time of day only: the day, and that it is UTC, are said here.
        out.append(literal: "  ")
        UTCTime.write(s.started.nanoseconds, date: true, to: &out)
        out.append(literal: " UTC ──")
        endPaint(&out)
    }

    private func paint(_ s: String, _ code: String, to out: inout [UInt8]) {
        startPaint(code, &out)
        out.append(text: s)
        endPaint(&out)
    }

    /// What follows is in colour `code` (when colour is on) until `endPaint`: a closure
    /// around the painted text cost a context retained and released per record.
    private func startPaint(_ code: String, _ out: inout [UInt8]) {
        if color { out.append(literal: "\u{1B}["); out.append(text: code); out.append(literal: "m") }
    }

    private func endPaint(_ out: inout [UInt8]) {
        if color { out.append(literal: "\u{1B}[0m") }
    }

    static func colorCode(forClass c: Int?) -> String {
        switch c {
        case 1: "36"; case 2: "32"; case 3: "33"; case 4: "35"; case 5: "31"; case 6: "34"; default: "37"
        }
    }

    /// Appends the event's text (no final newline) to `out`; false when the event prints nothing.
    /// Records are written as bytes: building them as strings made text output eight times
    /// slower than JSON Lines.
    public func write(_ event: AnalysisEvent, to out: inout [UInt8]) -> Bool {
        var identity = -1
        return write(event, to: &out, identity: &identity)
    }

    /// As `write(_:to:)`, and `identity` is set to where the session id starts in `out` when
    /// the record shows one (a merger renumbers it there; see `TextLines`).
    public func write(_ event: AnalysisEvent, to out: inout [UInt8], identity: inout Int) -> Bool {
        switch event {
        case .reply(let r):
            writeReply(r, to: &out, identity: &identity)
        case .session(let s):
            writeSession(s, to: &out, identity: &identity)
        case .command(let c):
            guard showCommands else { return false }
            writePrefix(c.timestamp, c.session, to: &out, identity: &identity)
            var s = "→ " + TerminalText.escape(c.command.verb ?? TerminalText.escape(c.command.raw))
            if let a = c.argument { s += " " + TerminalText.escape(a) }
            if let p = c.active { s += "  data ← \(p.host ?? "?"):\(p.port)" }
            out.append(text: s)
            if !c.anomalies.isEmpty { out.append(literal: "  "); paint("! " + c.anomalies.joined(separator: "; "), "1;31", to: &out) }
        case .gap(let g):
            writePrefix(g.timestamp, g.session, to: &out, identity: &identity)
            paint("gap: \(g.bytes) bytes from the \(g.direction.rawValue) never captured", "1;33", to: &out)
        }
        return true
    }

    private func writeReply(_ r: ReplyEvent, to out: inout [UInt8], identity: inout Int) {
        writePrefix(r.timestamp, r.session, to: &out, identity: &identity)
        startPaint(Self.colorCode(forClass: r.reply.code.map { $0 / 100 }), &out)
        if let code = r.reply.code { out.append(digits: code, width: 1) } else { out.append(literal: "???") }
        endPaint(&out)
        out.append(literal: "  ")
        let asked = out.count
        var arrow = false
        if let c = r.command {
            out.append(literal: "← ")
            arrow = true
            out.append(text: TerminalText.escape(c))
            if let a = r.argument {
                out.append(literal: " ")
                a.withUnsafeBytes { out.appendTerminalSafe($0) }
            }
        } else {
            out.append(literal: UnaskedReply.label(r))
        }
        out.padColumn(from: asked, width: 28, leadingArrow: arrow)
        out.append(literal: "  ")
        let state = out.count
        out.append(text: r.state.rawValue)
        out.padColumn(from: state, width: 13)
        out.append(literal: "  ")
        let latency = out.count
        // A transfer's final reply may come minutes after its command: from 100 s on, seconds,
        // so the column still shows the figure rather than cutting it.
        if let ms = r.latencyMilliseconds {
            if ms < 100_000 { out.append(fixed: ms, decimals: 1); out.append(literal: " ms") }
            else { out.append(fixed: ms / 1000, decimals: 1); out.append(literal: " s") }
        }
        out.padColumn(from: latency, width: 10)
        if let m = r.catalog?.meaning(language) { out.append(literal: "  "); paint(m, "2", to: &out) }
        if let p = r.passive { out.append(text: "  data → \(p.host ?? "(server)"):\(p.port)") }
        if let p = r.protected {
            var head = "  protected: \(p.level.rawValue), \(p.payloadBytes.map { "\($0) bytes" } ?? "undecodable")"
            if let inner = p.inner { head += ", inner " + (inner.lines.first.map(TerminalText.escape) ?? "") }
            out.append(text: head)
        }
        if !r.anomalies.isEmpty { out.append(literal: "  "); paint("! " + r.anomalies.joined(separator: "; "), "1;31", to: &out) }
        r.reply.forEachLine { line in
            out.append(literal: "\n    ")
            out.appendTerminalSafe(line)
        }
        if r.reply.droppedLines > 0 { out.append(text: "\n    … \(r.reply.droppedLines) more lines not kept") }
    }

    public func format(_ event: AnalysisEvent) -> String? {
        var out: [UInt8] = []
        guard write(event, to: &out) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// A session's summary line, its transfers and anomalies: one per session, a sixth of
    /// the text formatting of a capture of short sessions when built from strings.
    private func writeSession(_ s: SessionSummary, to out: inout [UInt8], identity: inout Int) {
        startPaint("1", &out)
        out.append(literal: "session ")
        identity = out.count
        out.append(text: s.session.id)
        endPaint(&out)
        out.append(literal: "  ")
        out.append(text: s.session.clientText); out.append(literal: " → "); out.append(text: s.session.serverText)
        out.append(literal: "  user "); out.append(text: s.user.map(TerminalText.escape) ?? "-")
        out.append(literal: " (login "); out.append(text: s.login); out.append(literal: ")  ")
        out.append(text: String(s.commands)); out.append(literal: " commands, ")
        out.append(text: String(s.replies)); out.append(literal: " replies")
        var first = true
        // By first digit, as the class labels sort.
        for (digit, n) in s.codes.byFirstDigit.enumerated() where n > 0 {
            out.append(literal: first ? " (" : ", ")
            first = false
            out.append(text: "\(digit)xx \(n)")
        }
        if !first { out.append(literal: ")") }
        out.append(literal: ", "); out.append(text: String(s.transfers.count + s.unlisted.count))
        out.append(literal: " transfers, final state "); out.append(text: s.finalState.rawValue)
        out.append(literal: ", "); out.append(fixed: s.durationMilliseconds / 1000, decimals: 3)
        if s.endReason == "refused" {
            out.append(literal: " s, refused by the server")
        } else {
            out.append(literal: " s, ended by "); out.append(text: s.endReason)
        }
        for t in s.transfers {
            // The file as the server knows it when the working directory is known.
            let path = (t.absolutePath ?? t.path).map(TerminalText.escape) ?? ""
            var line = "\n    transfer \(t.commandText) \(path)  \(t.bytes) bytes"
            if t.uncapturedBytes > 0 { line += " (\(t.uncapturedBytes) not captured)" }
            if t.transferMode == "Z" { line += t.inflatedBytes.map { " deflated, \($0) inflated" } ?? " deflated" }
            line += "  \(t.mode ?? "?")  \(t.outcome)"
            if let f = t.finalCode { line += " (\(f))" }
            if t.tls { line += t.tlsDecrypted ? "  tls (decrypted)" : "  tls" }
            if let m = t.mimeType { line += "  \(m)" }
            if let d = t.digests {
                for (name, value) in [("md5", d.md5), ("sha1", d.sha1), ("sha256", d.sha256)] {
                    if let value { line += "  \(name) \(value)" }
                }
            }
            if let m = t.sizeMatches, !m { line += "  announced \(t.announcedSize!) bytes" }
            if let saved = t.extractedPath {
                line += "\n      saved \(TerminalText.escape(saved))"
                // Two reasons a saved file is not the whole file, and the user acts differently
                // on each: a resumed transfer is whole on the wire but starts inside the file.
                if t.extractedWhole != true {
                    if let offset = t.restartOffset, offset > 0 {
                        line += " (part of the file: resumed at byte \(offset))"
                    } else {
                        line += " (part of the file: bytes missing)"
                    }
                }
            }
            out.append(text: line)
        }
        if s.unlisted.count > 0 { out.append(text: "\n    " + s.unlisted.text) }
        // After AUTH TLS the control channel is records nobody on the wire can read: how many
        // says how much of the session the replies above leave out.
        if s.tls { out.append(text: "\n    tls: " + TLSSummaryText.of(s)) }
        if !s.anomalies.isEmpty {
            out.append(text: "\n    anomalies: " + s.anomalies.keys.sorted().map { "\($0) ×\(s.anomalies[$0]!)" }.joined(separator: ", "))
        }
        // What the server left waiting: the first five, then how many more were listed.
        if !s.unanswered.isEmpty {
            let shown = s.unanswered.prefix(5).map { u in
                u.verb.map { v in u.argument.map { TerminalText.escape(v + " " + $0) } ?? TerminalText.escape(v) } ?? "(greeting)"
            }
            let more = s.unanswered.count > 5 ? ", … \(s.unanswered.count - 5) more" : ""
            out.append(text: "\n    unanswered: " + shown.joined(separator: ", ") + more)
        }
    }

    public func formatSummary(_ s: CaptureSummary, files: Int) -> String {
        var out = "summary: \(files) file(s), \(s.packets) packets, \(s.connections) connections, \(s.ftpSessions) FTP sessions, "
        out += "\(s.dataConnections) data connections, \(s.replies) replies, \(s.commands) commands, \(s.gaps) gaps (\(s.gapBytes) bytes)"
        if s.missingDataBytes > 0 { out += ", \(s.missingDataBytes) data bytes not captured" }
        out += ", \(s.evictions) evictions"
        if !s.anomalies.isEmpty {
            out += "\nanomalies: " + s.anomalies.keys.sorted().map { "\($0) ×\(s.anomalies[$0]!)" }.joined(separator: ", ")
        }
        if s.unsupportedLinkType > 0 {
            out += "\npackets not analyzed: \(s.unsupportedLinkType) of a link type ftpscope does not decode (\(s.unsupportedLinkTypeNames))"
        }
        let malformed = s.malformed.values.reduce(0, +)
        if malformed + s.ipFragmentsUnreassembled > 0 {
            out += "\npackets not analyzed: \(malformed) malformed, \(s.ipFragmentsUnreassembled) IP fragments of datagrams never completed"
        }
        if s.ipFragments > 0 {
            out += "\nIP fragments: \(s.ipFragments), put together into \(s.ipDatagramsReassembled) datagrams"
            if s.ipFragmentConflicts > 0 { out += "; \(s.ipFragmentConflicts) overlapped held bytes with others (the first kept)" }
        }
        if s.filesExtracted > 0 || !s.extractionFailures.isEmpty {
            out += "\nfiles extracted: \(s.filesExtracted)"
            if !s.extractionFailures.isEmpty {
                out += "; not written: " + s.extractionFailures.keys.sorted().map { "\($0) ×\(s.extractionFailures[$0]!)" }.joined(separator: ", ")
            }
        }
        // Their headers were read and what the snap length kept was analyzed; the rest is in the gaps.
        if s.truncatedPackets > 0 {
            out += "\npackets cut by the capture's snap length: \(s.truncatedPackets) (bytes not captured: gaps on control connections, transfers' missing bytes on data connections)"
        }
        return out
    }
}
