import FTPSession

/// Grouped text from one analyzer's events: each record rendered, then held in its session's
/// block (see `TextBlocks`) until the session ends.
public final class SessionGrouper {
    private let formatter: TextFormatter
    private let blocks: TextBlocks<ObjectIdentifier>
    private var scratch: [UInt8] = []
    /// Whether a session's summary line ends its block (`--no-sessions` leaves it out; the
    /// session's end still hands the block over).
    public let sessionSummaries: Bool

    public init(formatter: TextFormatter, sessionSummaries: Bool = true, maxBufferedPerSession: Int = 10_000,
                maxBufferedBytes: Int = 32 << 20) {
        self.formatter = formatter
        self.sessionSummaries = sessionSummaries
        blocks = TextBlocks(maxBufferedPerSession: maxBufferedPerSession, maxBufferedBytes: maxBufferedBytes)
    }

    /// Hands `emit` the text ready to print after this event, if any: a whole block when its
    /// session ends or outgrows the bound, and the oldest blocks when all held text outgrows
    /// its bound.
    public func add(_ event: AnalysisEvent, emit: ([UInt8]) -> Void) {
        let identity = event.identity
        let ends = event.kind == .session
        // Every event of a session carries the same identity object; its entry goes with the
        // session's summary, after which nothing of it follows.
        let key = ObjectIdentifier(identity)
        scratch.removeAll(keepingCapacity: true)
        if !(ends && !sessionSummaries), formatter.write(event, to: &scratch) {
            scratch.append(0x0A)
            // The same steps as the merger of a split analysis: the summary is added, then the
            // session ends.
            scratch.withUnsafeBytes { record in
                blocks.add(key, record: record, heading: {
                    var h: [UInt8] = []
                    var mark = -1
                    formatter.writeHeading(identity, to: &h, identity: &mark)
                    return h
                }, emit: emit)
            }
        }
        if ends { blocks.end(key, emit: emit) }
    }

    /// Whatever is still held (sessions that never ended), in the order they started.
    public func flush() -> [UInt8] { blocks.flush() }
}
