import FTPSession
import ReplyCatalog

/// A report fit for a CI job summary (GitHub, GitLab): sessions, codes, anomalies, latency.
public struct MarkdownReport: Sendable {
    public var language: Language
    public init(language: Language = .english) { self.language = language }

    /// The report as one string (small captures, tests); `write` streams it.
    public func render(_ c: ReportCollector, policy: Policy, violations: [String], violationCount: Int? = nil) -> String {
        var out = ""
        write(c, policy: policy, violations: violations, violationCount: violationCount) { out += String(decoding: $0, as: UTF8.self) }
        return out
    }

    /// A session's row of the table of sessions.
    public static let sessionRows = SessionRows { s in
        let transfers = s.transfersText
        var md = "| \(s.session.id) | \(s.session.serverText) | \(s.session.clientText) | \(Escape.markdownCell(s.user ?? "-")) "
        md += "| \(s.login) | \(Escape.markdownCell(transfers.isEmpty ? "-" : transfers)) | \(s.errors) | \(s.finalState.rawValue) "
        md += "| \(fixed(s.durationMilliseconds / 1000, 3)) s |\n"
        return Array(md.utf8)
    }

    /// Writes the report in pieces: the table of sessions from the collector's rows (see
    /// `sessionRows`), the rest around it. `violations` are those kept; `violationCount` is how
    /// many there were (default: as many).
    public func write(_ c: ReportCollector, policy: Policy, violations: [String], violationCount: Int? = nil,
                      to out: (UnsafeRawBufferPointer) -> Void) {
        let total = violationCount ?? violations.count
        var md = "# ftpscope report\n\n"
        md += "\(c.files) capture file(s), \(c.summary.packets) packets, \(c.sessionCount) FTP sessions, "
        md += "\(c.summary.replies) replies, \(c.summary.gaps) gaps\(c.summary.missingDataText).\n\n"
        if !policy.rules.isEmpty || policy.maxLatencyMilliseconds != nil {
            md += total == 0 ? "**Policy: passed.**\n\n" : "**Policy: FAILED** (\(total) violations).\n\n"
        }
        if !c.warnings.isEmpty {
            md += "## Warnings\n\n"
            for w in c.warnings { md += "- \(Escape.markdownCell(w))\n" }
            md += "\n"
        }
        md += "## Sessions\n\n| session | server | client | user | login | transfers | errors | final state | duration |\n"
        md += "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
        writeUTF8(md, to: out)
        c.writeSessionRows(Self.sessionRows, to: out)
        md = "\n## Replies by class\n\n| class | count | |\n| --- | ---: | --- |\n"
        let maxClass = max(1, c.classes.values.max() ?? 1)
        for k in c.classes.keys.sorted() {
            md += "| \(k) | \(c.classes[k]!) | \(String(repeating: "█", count: max(1, c.classes[k]! * 30 / maxClass))) |\n"
        }
        md += "\n## Replies by code\n\n| code | count | meaning |\n| --- | ---: | --- |\n"
        for code in c.codes.keys.sorted() {
            md += "| \(code) | \(c.codes[code]!) | \(Escape.markdownCell(Catalog.ftp(code)?.meaning(language) ?? "(not in catalog)")) |\n"
        }
        md += "\n## Anomalies\n\n"
        if c.anomalies.isEmpty { md += "None.\n" } else {
            md += "| time | session | anomaly | record | line |\n| --- | --- | --- | --- | --- |\n"
            for a in c.anomalies.prefix(200) {
                md += "| \(UTCTime.format(a.timestamp.nanoseconds)) | \(a.session) | \(Escape.markdownCell(a.name)) | \(a.record.rawValue) | \(Escape.markdownCell(a.line)) |\n"
            }
            if c.anomalies.count > 200 { md += "\n… and \(c.anomalies.count - 200) more.\n" }
        }
        md += "\n## Slowest replies\n\n| latency | session | command | reply |\n| ---: | --- | --- | --- |\n"
        for r in c.slowestReplies {
            let line = String(decoding: r.reply.firstLine, as: UTF8.self)
            md += "| \(fixed(r.latencyMilliseconds ?? 0, 1)) ms | \(r.session.id) | \(Escape.markdownCell(r.command ?? "-")) | \(Escape.markdownCell(line)) |\n"
        }
        if !violations.isEmpty {
            md += "\n## Policy violations\n\n"
            for v in violations.prefix(200) { md += "- \(Escape.markdownCell(v))\n" }
            if total > min(200, violations.count) { md += "\n… and \(total - min(200, violations.count)) more.\n" }
        }
        writeUTF8(md, to: out)
    }
}
