import FTPSession

/// Renders text records one line at a time through a buffer kept between records: a fresh
/// array per record cost an allocation, its growth and a free per reply, about a sixth of
/// `--stream` text output's time on a capture of short sessions.
///
/// Not shared between threads: each renderer has its own.
public final class TextLines {
    public let formatter: TextFormatter
    private var scratch: [UInt8] = []

    public init(formatter: TextFormatter) {
        self.formatter = formatter
        scratch.reserveCapacity(1024)
    }

    /// Appends the event's text and a newline to `out` and marks its session there: where its
    /// id starts when the text shows it, and its number (for the merger of a split analysis);
    /// false when the event prints nothing.
    @discardableResult
    public func write(_ event: AnalysisEvent, into out: inout JSONWriter) -> Bool {
        scratch.removeAll(keepingCapacity: true)
        var identity = -1
        guard formatter.write(event, to: &scratch, identity: &identity) else { return false }
        scratch.append(0x0A)
        out.markSession(event.identity.number)
        let start = out.byteCount
        out.append(bytes: scratch)
        if identity >= 0 { out.markIdentity(at: start + identity) }
        return true
    }

    /// Appends a session's heading (no newline) to `out`, its id marked.
    public func writeHeading(_ session: SessionIdentity, into out: inout JSONWriter) {
        scratch.removeAll(keepingCapacity: true)
        var identity = -1
        formatter.writeHeading(session, to: &scratch, identity: &identity)
        let start = out.byteCount
        out.append(bytes: scratch)
        out.markIdentity(at: start + identity)
    }
}
