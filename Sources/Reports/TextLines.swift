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

    /// Calls `body` with the event's text and a newline; false (and no call) when the event
    /// prints nothing. The bytes are valid only inside `body`.
    @discardableResult
    public func withLine(for event: AnalysisEvent, _ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        scratch.removeAll(keepingCapacity: true)
        guard formatter.write(event, to: &scratch) else { return false }
        scratch.append(0x0A)
        scratch.withUnsafeBytes(body)
        return true
    }
}
