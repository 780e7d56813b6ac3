import FTPSession

/// How a report lists an ended session in its table of sessions (a Markdown or HTML row, a
/// JSON session record). A collector given one renders each session's row when the session
/// ends and spools it (`SectionSpool`), so a report of a capture with millions of sessions holds
/// none of them: kept as summaries, 200,000 sessions took 450 MB for the JSON report.
public struct SessionRows: Sendable {
    /// Written between two rows (JSON's comma).
    public let separator: [UInt8]
    public let row: @Sendable (SessionSummary) -> [UInt8]

    public init(separator: String = "", row: @escaping @Sendable (SessionSummary) -> [UInt8]) {
        self.separator = Array(separator.utf8)
        self.row = row
    }

    /// For a report without a table of sessions (JUnit): ended sessions are counted, not kept.
    public static let countOnly = SessionRows { _ in [] }
}

extension ReportCollector {
    /// Every session's row in order, with `rows` (the renderer the collector was made with):
    /// the spooled rows, or rows rendered now from the sessions a collector made without one
    /// kept.
    public func writeSessionRows(_ rows: SessionRows, to out: (UnsafeRawBufferPointer) -> Void) {
        var first = true
        func separate() {
            if !first { rows.separator.withUnsafeBytes(out) }
            first = false
        }
        for spool in rowSpools where spool.byteCount > 0 {
            separate()
            spool.forEachChunk(out)
        }
        for s in sessions {
            separate()
            rows.row(s.summary).withUnsafeBytes(out)
        }
    }
}
