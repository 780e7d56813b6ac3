import DequeModule
import Reports

/// Writes `Output`'s buffers on a thread of its own. The rendering thread hands over a buffer
/// and takes back an empty one; handed buffers queue here, in order, up to `maxQueued`, and
/// only then does a hand-over wait.
///
/// Offline one buffer may wait (double buffering: memory stays flat, and the analysis never
/// waits on write(2) unless the output is slower than it). Live, records that a slow reader of
/// stdout (`| jq`) has not taken yet queue up to a bound instead of stopping the capture
/// thread: stopped, it leaves the kernel's buffer to fill and drop packets.
final class BackgroundWriter: @unchecked Sendable {
    /// A buffer in the queue: a class, so that the non-copyable writer can sit in a deque.
    private final class Chunk {
        var bytes: JSONWriter
        init(capacity: Int) { bytes = JSONWriter(capacity: capacity) }
    }

    private let fd: Int32
    private let capacity: Int
    private let maxQueued: Int
    private let condition = Condition()
    /// Handed buffers in order; the first is the one being written.
    private var queue: Deque<Chunk> = []
    /// Written buffers kept for reuse (a fresh one costs a page fault per page).
    private var spares: [Chunk] = []
    private var stopping = false
    private var thread: JoinableThread?
    /// The most buffers queued at once.
    private(set) var peakQueued = 0
    /// Hand-overs that found the queue full and waited.
    private(set) var fullWaits = 0

    /// `maxQueued`: buffers that may wait to be written, at least one.
    init(fd: Int32, capacity: Int, maxQueued: Int = 1) {
        precondition(maxQueued >= 1)
        self.fd = fd
        self.capacity = capacity
        self.maxQueued = maxQueued
        thread = startThread(name: "ftpscope-write") { [unowned self] in self.run() }
    }

    /// Takes the bytes in `buffer` and gives back an empty buffer; waits only while the queue
    /// is full.
    func hand(_ buffer: inout JSONWriter) {
        condition.lock()
        if queue.count >= maxQueued { fullWaits += 1 }
        while queue.count >= maxQueued { condition.wait() }
        let chunk = spares.popLast() ?? Chunk(capacity: capacity)
        chunk.bytes.exchange(with: &buffer)
        queue.append(chunk)
        peakQueued = max(peakQueued, queue.count)
        condition.broadcast()
        condition.unlock()
        buffer.clear()
    }

    /// Waits until every handed buffer is written; the thread then ends.
    func drain() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        thread?.join()
    }

    private func run() {
        condition.lock()
        while true {
            while queue.isEmpty && !stopping { condition.wait() }
            guard let chunk = queue.first else {
                condition.unlock()
                return
            }
            condition.unlock()
            // Only this thread touches the queue's first buffer until it leaves the queue.
            chunk.bytes.withUnsafeBytes { writeAll(fd, $0) }
            condition.lock()
            queue.removeFirst()
            chunk.bytes.clear()
            if spares.count < 2 { spares.append(chunk) }
            condition.broadcast()
        }
    }
}
