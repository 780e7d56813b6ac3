import FTPSession
import Reports

/// Fills a report's collector on a thread of its own while the analyzer runs on the caller's:
/// a JUnit or HTML report spends more of its time collecting and rendering exchanges than
/// analyzing, so one file's report uses a second core the way `analyze` does.
///
/// Events go over in batches, in order; the collector (and its section spools) is touched by
/// this thread alone until `finish` returns. Events may be kept across threads: a reply that a
/// consumer keeps takes its buffer with it, and the parser allocates a new one.
final class CollectorThread: @unchecked Sendable {
    /// Events per hand-over: a lock and a wake-up per batch, not per event.
    static let batchSize = 256
    private let queue = BlockingQueue<[AnalysisEvent]>(capacity: 4)
    private var thread: JoinableThread?
    private var batch: [AnalysisEvent] = []
    private var finished = false

    /// `add` runs on the new thread for each event, in the order they were sent.
    init(_ add: @escaping (AnalysisEvent) -> Void) {
        batch.reserveCapacity(Self.batchSize)
        thread = startThread(name: "ftpscope-collect") { [queue] in
            while true {
                let events = queue.take()
                // An empty batch is the end (`finish` sends no other).
                if events.isEmpty { break }
                for e in events { add(e) }
            }
        }
    }

    /// Called on the analyzing thread for each event.
    func send(_ event: AnalysisEvent) {
        batch.append(event)
        if batch.count >= Self.batchSize {
            queue.put(batch)
            batch = []
            batch.reserveCapacity(Self.batchSize)
        }
    }

    /// Sends what is left and waits until every event has been added; later calls return at once.
    func finish() {
        guard !finished else { return }
        finished = true
        if !batch.isEmpty { queue.put(batch) }
        batch = []
        queue.put([])
        thread?.join()
    }
}
