import DequeModule

/// Holds each session's text until the session ends, then hands it over as one block under a
/// heading: a terminal reader sees sessions one at a time, not interleaved by time. Works on
/// rendered bytes, so one analyzer (`SessionGrouper`, keyed by identity) and the merger of a
/// split analysis (keyed by global session number) group the same records the same way.
///
/// Memory is bounded twice: a session with more than `maxBufferedPerSession` records so far
/// is handed over early and continued under a new heading, and when the text held for all
/// sessions takes more than `maxBufferedBytes` the oldest blocks go first. Grouping is then
/// partial (a session may appear in several blocks), but a capture with any number of
/// sessions open at once is printed in flat memory: with 100,000 open, text held per session
/// took 480 MB where the analysis itself takes 155.
///
/// Blocks are bytes ready to write: the heading and each record on lines of their own, and a
/// blank line after a block. A session's text is kept as one buffer, not a string per record.
public final class TextBlocks<Key: Hashable> {
    private struct Block {
        /// Heading and records so far, each ended by a newline; empty after a hand-over until
        /// the session's next record, which starts under a `(continued)` heading.
        var text: [UInt8] = []
        /// Heading and records: what the per-session bound counts.
        var entries = 0
        let started: Int
        /// Tells this block's text from the session's earlier texts in `order`.
        var serial = 0
        var continued = false
        /// What `heldBytes` counts for this block's text.
        var footprint = 0
    }

    /// Open sessions, each with the order it started in. A list of open ids searched at every
    /// session's end made a capture with 100,000 sessions open at once take six minutes
    /// instead of fifteen seconds.
    private var pending: [Key: Block] = [:]
    /// Bytes allocated for held text, as a buffer growing by doubling from `initialCapacity`
    /// holds it: not the array's capacity, which comes from the allocator's chunk sizes and
    /// so from the heap's history (two runs, or one and two analyzers, cut blocks differently).
    private var heldBytes = 0
    /// Blocks oldest first, for handing over the oldest when held text passes its bound. An
    /// entry whose block has ended or been handed over stays until it reaches the front or
    /// the stale entries outnumber the live ones.
    private var order: Deque<(key: Key, serial: Int)> = []
    private var stale = 0
    private var started = 0
    private var serials = 0
    public let maxBufferedPerSession: Int
    public let maxBufferedBytes: Int
    /// A new block's first allocation: room for a heading and a few records, so that most
    /// sessions' text grows by doubling only a few times.
    static var initialCapacity: Int { 512 }

    public init(maxBufferedPerSession: Int = 10_000, maxBufferedBytes: Int = 32 << 20) {
        self.maxBufferedPerSession = maxBufferedPerSession
        self.maxBufferedBytes = maxBufferedBytes
    }

    /// Adds one of a session's records (its lines, each ended by a newline). `heading` gives the
    /// session's heading (no newline) when a block starts. `emit` is handed text ready to
    /// print: a block that outgrew the per-session bound, and the oldest blocks when all held
    /// text outgrows its bound.
    public func add(_ key: Key, record: UnsafeRawBufferPointer, heading: () -> [UInt8], emit: ([UInt8]) -> Void) {
        // The block is changed where it lies: taking it out and putting it back hashed twice
        // and moved the entry, a tenth of grouped text's time.
        let index: Dictionary<Key, Block>.Index
        if let i = pending.index(forKey: key) {
            index = i
        } else {
            pending[key] = Block(started: started)
            started += 1
            index = pending.index(forKey: key)!
        }
        let full = modify(&pending.values[index], record: record, key: key, heading: heading)
        if full { emit(handOver(&pending.values[index])) }
        // Each hand-over frees a buffer and queues nothing, so this ends.
        while heldBytes > maxBufferedBytes, let oldest = order.popFirst() {
            stale -= 1
            guard let i = pending.index(forKey: oldest.key) else { continue }
            let b = pending.values[i]
            guard b.serial == oldest.serial, !b.text.isEmpty else { continue }
            emit(handOver(&pending.values[i]))
        }
        if stale > 1024 && stale > order.count / 2 {
            order = Deque(order.filter { entry in
                pending[entry.key].map { $0.serial == entry.serial && !$0.text.isEmpty } ?? false
            })
            stale = 0
        }
    }

    /// Appends the record to the block (under a heading when it holds nothing yet); whether
    /// the block has reached the per-session bound.
    private func modify(_ block: inout Block, record: UnsafeRawBufferPointer, key: Key, heading: () -> [UInt8]) -> Bool {
        if block.text.isEmpty {
            let h = heading()
            block.text.reserveCapacity(max(Self.initialCapacity, h.count + record.count + 14))
            block.text.append(contentsOf: h)
            if block.continued { block.text.append(literal: " (continued)") }
            block.text.append(0x0A)
            block.text.append(contentsOf: record)
            block.entries = 2
            serials += 1
            block.serial = serials
            order.append((key, serials))
        } else {
            block.text.append(contentsOf: record)
            block.entries += 1
        }
        let footprint = Self.footprint(block.text.count)
        heldBytes += footprint - block.footprint
        block.footprint = footprint
        return block.entries >= maxBufferedPerSession
    }

    /// The session ended: `emit` is handed what it still holds, if anything.
    public func end(_ key: Key, emit: ([UInt8]) -> Void) {
        guard var block = pending.removeValue(forKey: key), !block.text.isEmpty else { return }
        emit(handOver(&block))
    }

    /// Whatever is still held (sessions that never ended), in the order they started, one
    /// session after another without blank lines between them.
    public func flush() -> [UInt8] {
        defer { pending.removeAll(); order.removeAll(); stale = 0; heldBytes = 0 }
        var out: [UInt8] = []
        for block in pending.values.sorted(by: { $0.started < $1.started }) where !block.text.isEmpty { out += block.text }
        return out
    }

    /// The allocation a buffer of `count` bytes grown by doubling from `initialCapacity` has.
    static func footprint(_ count: Int) -> Int {
        count <= initialCapacity ? initialCapacity : 1 << (Int.bitWidth - (count - 1).leadingZeroBitCount)
    }

    /// A block's text with the blank line after it; the block is left empty, to continue
    /// under a new heading, and its entry in `order` goes stale.
    private func handOver(_ block: inout Block) -> [UInt8] {
        heldBytes -= block.footprint
        block.footprint = 0
        stale += 1
        var text: [UInt8] = []
        swap(&text, &block.text)
        text.append(0x0A)
        block.entries = 0
        block.continued = true
        return text
    }
}
