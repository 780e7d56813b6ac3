import FTPSession
import ReplyCatalog

/// One self-contained HTML file: no scripts, no network; inline CSS and an inline SVG chart.
/// Every piece of wire text goes through `Escape.html`.
public struct HTMLReport: Sendable {
    public var language: Language
    public init(language: Language = .english) { self.language = language }

    /// `violations` are those kept; `violationCount` is how many there were (default: as many).
    public func render(_ c: ReportCollector, violations: [String], violationCount: Int? = nil) -> String {
        var out = ""
        write(c, violations: violations, violationCount: violationCount) { out += String(decoding: $0, as: UTF8.self) }
        return out
    }

    /// Writes the page in pieces: the table of sessions from the collector's rows (see
    /// `sessionRows`), then the spooled timelines of a collector made with `sections`, or
    /// timelines rendered now from the sessions' exchanges.
    public func write(_ c: ReportCollector, violations: [String], violationCount: Int? = nil,
                      to out: (UnsafeRawBufferPointer) -> Void) {
        let total = violationCount ?? violations.count
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
        <title>ftpscope report</title>
        <style>
        body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}
        .c1{color:#0a7d8c}.c2{color:#1a7f37}.c3{color:#9a6700}.c4{color:#8250df}.c5{color:#cf222e}.c6{color:#0550ae}
        pre{margin:0;white-space:pre-wrap}.anom{color:#cf222e;font-weight:bold}.cmd{color:#555}
        </style></head><body>
        <h1>ftpscope report</h1>

        """
        h += "<p id=\"totals\">\(c.files) capture file(s), \(c.summary.packets) packets, \(c.sessionCount) FTP sessions, \(c.summary.replies) replies, \(c.summary.gaps) gaps\(c.summary.missingDataText).</p>\n"
        if !c.warnings.isEmpty {
            h += "<h2>Warnings</h2><ul class=\"anom\" id=\"warnings\">"
            for w in c.warnings { h += "<li>\(Escape.html(w))</li>" }
            h += "</ul>\n"
        }
        if !violations.isEmpty {
            h += "<p class=\"anom\" id=\"policy\">Policy failed: \(total) violations.</p><ul>"
            for v in violations.prefix(100) { h += "<li>\(Escape.html(v))</li>" }
            h += "</ul>\n"
        }
        h += "<h2>Sessions</h2>\n<table id=\"sessions\"><tr><th>session</th><th>server</th><th>client</th><th>user</th><th>login</th><th>transfers</th><th>errors</th><th>final state</th><th>duration</th></tr>\n"
        writeUTF8(h, to: out)
        c.writeSessionRows(Self.sessionRows, to: out)
        writeUTF8("</table>\n<h2>Replies per class over time</h2>\n" + chart(c), to: out)
        if c.spools.isEmpty {
            for s in c.sessions { section(s).withUnsafeBytes(out) }
        }
        for spool in c.spools { spool.forEachChunk(out) }
        writeUTF8("</body></html>\n", to: out)
    }

    /// A session's row of the table of sessions, as bytes (as strings, with the session's
    /// fields decoded from its bytes, about 16,000 instructions a session).
    public static let sessionRows = SessionRows { s in
        var h: [UInt8] = []
        h.reserveCapacity(320)
        s.session.withFields { id, server, client in
            h.append(literal: "<tr><td><a href=\"#")
            h.append(contentsOf: id)
            h.append(literal: "\">")
            h.append(html: id)
            h.append(literal: "</a></td><td>")
            h.append(contentsOf: server)
            h.append(literal: "</td><td>")
            h.append(contentsOf: client)
        }
        h.append(literal: "</td><td>")
        h.append(text: Escape.html(s.user ?? "-"))
        h.append(literal: "</td><td>")
        h.append(text: s.login)
        h.append(literal: "</td><td>")
        if !s.transfers.isEmpty {
            let transfers = s.transfersText
            h.append(text: Escape.html(transfers))
        }
        h.append(literal: "</td><td>")
        h.append(text: String(s.errors))
        h.append(literal: "</td><td>")
        h.append(text: s.finalState.rawValue)
        h.append(literal: "</td><td>")
        h.append(fixed: s.durationMilliseconds / 1000, decimals: 3)
        h.append(literal: " s</td></tr>\n")
        return h
    }

    /// Renders each exchange's rows as the next begins and each session's timeline as it ends.
    public var sections: SectionRenderer {
        let report = self
        // Each code's meaning escaped once: per reply, the catalog's text went through both
        // escapers.
        let meanings: [[UInt8]] = (0..<1000).map { Array(Escape.html(Catalog.ftp($0)?.meaning(language) ?? "").utf8) }
        return SectionRenderer(exchange: { e, _, _, parts in
                                   var wireBytes = 0
                                   for i in e.replies.indices { wireBytes += e.replies[i].reply.storage.count }
                                   // About 250 bytes of markup, time, state and meaning a row.
                                   parts.makeRoom(wireBytes + 288 * max(1, e.replies.count) + (e.argument?.utf8.count ?? 0))
                                   report.rows(e, meanings: meanings, into: &parts.text)
                               },
                               frame: { s, _, _ in report.timeline(s) })
    }

    /// One session's timeline of commands and replies.
    func section(_ s: SessionReport) -> [UInt8] { sections.render(s, policy: Policy()).text }

    /// An exchange's rows: one per reply, or one saying there was none. Built as bytes: a row
    /// per reply is most of an HTML report's rendering.
    func rows(_ e: Exchange, meanings: [[UInt8]], into h: inout [UInt8]) {
        // Verb and argument escaped apart: both escapers work character by character.
        func command(_ h: inout [UInt8]) {
            guard let command = e.command else {
                h.append(literal: e.replies.first.map(UnaskedReply.label) ?? "(greeting)")
                return
            }
            h.append(text: Escape.html(command))
            if let argument = e.argument { h.append(literal: " "); h.append(text: Escape.html(argument)) }
        }
        // Each reply read where it lies: `enumerated()` copied each event with its references.
        for i in e.replies.indices {
            h.append(literal: "<tr><td>")
            UTCTime.write(e.replies[i].timestamp.nanoseconds, date: false, to: &h)
            h.append(literal: "</td><td class=\"cmd\">")
            if i == 0 { command(&h) }
            h.append(literal: "</td><td class=\"")
            if let code = e.replies[i].reply.code { h.append(literal: "c"); h.append(digits: code / 100, width: 1) }
            h.append(literal: "\"><pre>")
            var first = true
            e.replies[i].reply.forEachLine { line in
                if !first { h.append(0x0A) }
                first = false
                h.append(html: line)
            }
            h.append(literal: "</pre></td><td>")
            h.append(text: e.replies[i].state.rawValue)
            h.append(literal: "</td><td>")
            if let ms = e.replies[i].latencyMilliseconds { h.append(fixed: ms, decimals: 1); h.append(literal: " ms") }
            h.append(literal: "</td><td>")
            if let code = e.replies[i].reply.code { h.append(contentsOf: meanings[code]) }
            h.append(literal: "</td><td class=\"anom\">")
            // The command's own anomalies on its first reply's row, where the command is.
            let shown = i == 0 ? e.anomalies + e.replies[i].anomalies : e.replies[i].anomalies
            if !shown.isEmpty { h.append(text: Escape.html(shown.joined(separator: "; "))) }
            h.append(literal: "</td></tr>\n")
        }
        if e.replies.isEmpty {
            h.append(literal: "<tr><td>")
            UTCTime.write(e.timestamp.nanoseconds, date: false, to: &h)
            h.append(literal: "</td><td class=\"cmd\">")
            command(&h)
            h.append(literal: "</td><td colspan=\"4\">(no reply)</td><td class=\"anom\">")
            if !e.anomalies.isEmpty { h.append(text: Escape.html(e.anomalies.joined(separator: "; "))) }
            h.append(literal: "</td></tr>\n")
        }
    }

    /// The session's heading and timeline table around its exchanges' rows.
    func timeline(_ s: SessionReport) -> SectionRenderer.Frame {
        var head: [UInt8] = []
        head.reserveCapacity(400)
        s.summary.session.withFields { id, server, client in
            head.append(literal: "<h2 id=\"")
            head.append(html: id)
            head.append(literal: "\">Session ")
            head.append(html: id)
            head.append(literal: ": ")
            head.append(contentsOf: client)
            head.append(literal: " → ")
            head.append(contentsOf: server)
        }
        head.append(literal: "</h2>\n<table class=\"timeline\"><tr><th>time</th><th>command</th><th>reply</th><th>state</th><th>latency</th><th>meaning</th><th>anomalies</th></tr>\n")
        var tail: [UInt8] = []
        if s.droppedExchanges > 0 { tail.append(text: "<tr><td colspan=\"7\">… \(s.droppedExchanges) more exchanges not shown</td></tr>\n") }
        // After AUTH TLS, or from the start on an implicit-TLS port, the timeline would end (or
        // be empty) without saying why.
        if s.summary.tls {
            tail.append(text: "<tr><td colspan=\"7\">TLS: \(Escape.html(TLSSummaryText.of(s.summary)))</td></tr>\n")
        }
        // What no row carries: a command never answered, a buffer that overflowed, ….
        if !s.ofSessionOnly.isEmpty {
            let names = s.ofSessionOnly.map { $0.name + ($0.count > 1 ? " ×\($0.count)" : "") }.joined(separator: "; ")
            tail.append(text: "<tr><td colspan=\"6\">session</td><td class=\"anom\">\(Escape.html(names))</td></tr>\n")
        }
        tail.append(literal: "</table>\n")
        return SectionRenderer.Frame(head: head, tail: tail)
    }

    /// Stacked columns of replies per class over the capture's time span, as inline SVG.
    private func chart(_ c: ReportCollector) -> String {
        // Several files need not be in time order: take the real span.
        guard let first = c.replyTimeline.map(\.0).min(), let last = c.replyTimeline.map(\.0).max() else {
            return "<p>No replies.</p>\n"
        }
        let buckets = 60
        let span = max(1, last.nanoseconds - first.nanoseconds)
        var counts = [[Int]](repeating: [Int](repeating: 0, count: 7), count: buckets)
        for (t, cls) in c.replyTimeline where (1...6).contains(cls) {
            let b = max(0, min(buckets - 1, Int((t.nanoseconds - first.nanoseconds) / max(1, span / Int64(buckets)))))
            counts[b][cls] += 1
        }
        let peak = max(1, counts.map { $0.reduce(0, +) }.max() ?? 1)
        let colors = ["", "#0a7d8c", "#1a7f37", "#9a6700", "#8250df", "#cf222e", "#0550ae"]
        var svg = "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"180\" role=\"img\" aria-label=\"replies per class over time\">\n"
        for (i, col) in counts.enumerated() {
            var y = 160.0
            for cls in 1...6 where col[cls] > 0 {
                let height = Double(col[cls]) / Double(peak) * 150
                y -= height
                svg += "<rect x=\"\(i * 10 + 20)\" y=\"\(fixed(y, 1))\" width=\"8\" height=\"\(fixed(height, 1))\" fill=\"\(colors[cls])\"><title>\(cls)xx: \(col[cls])</title></rect>\n"
            }
        }
        svg += "<line x1=\"18\" y1=\"160\" x2=\"622\" y2=\"160\" stroke=\"#888\"/>\n"
        for cls in 1...6 { svg += "<text x=\"\(20 + (cls - 1) * 60)\" y=\"176\" fill=\"\(colors[cls])\" font-size=\"11\">\(cls)xx</text>\n" }
        return svg + "</svg>\n"
    }
}
