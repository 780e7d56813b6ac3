import DequeModule
import Reports

/// Merges the analyzers' outputs for one batch by key and renumbers sessions in the order
/// they were created across analyzers.
///
/// Grouped text is grouped here, after the merge, by global session number: the records
/// reach `TextBlocks` in the order one analyzer's grouper would have seen them, so the blocks
/// (and where memory bounds cut them) are the same.
struct RecordMerger {
    private let prefix: [UInt8]
    private var next = 0
    /// Per analyzer: its session number to the global one.
    private var ids: [SessionNumbers]
    /// Per analyzer: connections open, as of the records merged so far.
    private var open: [Int]
    private(set) var peakConnections = 0
    /// Grouped text: the blocks, and each open session's heading, renumbered.
    private let blocks: TextBlocks<Int>?
    private var headings: [Int: [UInt8]] = [:]

    init(prefix: String, shards: Int, grouping: Bool = false) {
        self.prefix = Array(prefix.utf8)
        ids = Array(repeating: SessionNumbers(), count: shards)
        open = Array(repeating: 0, count: shards)
        blocks = grouping ? TextBlocks() : nil
    }

    /// Writes what grouping still holds (sessions that never ended).
    mutating func finish(into out: Output) {
        guard let blocks else { return }
        let rest = blocks.flush()
        if !rest.isEmpty { out.write(rest) }
        headings.removeAll()
    }

    /// `record` with its session id replaced by the global one.
    private func renumbered(_ record: UnsafeRawBufferPointer, _ r: TaggedRecord, as id: Int) -> [UInt8] {
        let at = r.idStart - r.start
        var b: [UInt8] = []
        b.reserveCapacity(record.count + prefix.count + 20)
        b.append(contentsOf: record[..<at])
        b.append(contentsOf: prefix)
        b.append(0x73)
        b.append(contentsOf: String(id).utf8)
        b.append(contentsOf: record[(at + r.idLength)...])
        return b
    }

    /// Grouped text: one tagged entry of analyzer `shard` into the blocks.
    private mutating func group(_ r: TaggedRecord, _ record: UnsafeRawBufferPointer, shard: Int,
                                blocks: TextBlocks<Int>, into out: Output) {
        switch r.kind {
        case .started:
            next += 1
            ids[shard].started(r.session, as: next)
            if r.idLength > 0 { headings[next] = renumbered(record, r, as: next) }
        case .ended:
            if let id = ids[shard].global(r.session) {
                blocks.end(id) { out.write($0) }
                headings[id] = nil
            }
            ids[shard].ended(r.session)
        case .count:
            preconditionFailure("counts are not grouped")
        case .record:
            guard let id = ids[shard].global(r.session) else {
                out.buffer.append(bytes: record)
                out.recordEnded()
                return
            }
            // The heading is looked up only when a block starts.
            if r.idLength > 0 {
                renumbered(record, r, as: id).withUnsafeBytes {
                    blocks.add(id, record: $0, heading: { headings[id] ?? [] }, emit: { out.write($0) })
                }
            } else {
                blocks.add(id, record: record, heading: { headings[id] ?? [] }, emit: { out.write($0) })
            }
        }
    }

    mutating func merge(_ batches: [OutputBatch], into out: Output) {
        // Each batch's records and bytes through pointers taken once: reading them through the
        // batch objects retained and released an array for every record.
        Self.withRecords(of: batches) { all in
            // The records each analyzer has left, in scratch storage: an array of them checked
            // its uniqueness at every record taken.
            let records = UnsafeMutableBufferPointer<UnsafeBufferPointer<TaggedRecord>>.allocate(capacity: all.count)
            _ = records.initialize(from: all)
            defer { records.deallocate() }
            // A writer's bytes are its own allocation, neither moved nor freed until the batch
            // is reset after this merge, so the pointers stay valid beyond `withUnsafeBytes`.
            let bytes = batches.map { $0.buffer.withUnsafeBytes { $0 } }
            prefix.withUnsafeBytes { prefix in
                while true {
                    var best = -1
                    for s in records.indices where !records[s].isEmpty {
                        if best < 0 || records[s][0].key < records[best][0].key { best = s }
                    }
                    if best < 0 { break }
                    let r = records[best][0]
                    records[best] = UnsafeBufferPointer(rebasing: records[best].dropFirst())
                    if let blocks {
                        // A count's start and end are table sizes, not offsets.
                        if r.kind == .count { countOpen(r, shard: best); continue }
                        group(r, UnsafeRawBufferPointer(rebasing: bytes[best][r.start..<r.end]), shard: best,
                              blocks: blocks, into: out)
                        continue
                    }
                    switch r.kind {
                    case .started:
                        next += 1
                        ids[best].started(r.session, as: next)
                    case .ended:
                        ids[best].ended(r.session)
                    case .count:
                        countOpen(r, shard: best)
                    case .record:
                        let record = UnsafeRawBufferPointer(rebasing: bytes[best][r.start..<r.end])
                        if r.idLength > 0, let id = ids[best].global(r.session) {
                            out.buffer.append(record: record, idStart: r.idStart - r.start, idLength: r.idLength,
                                              prefix: prefix, letter: 0x73, number: id)
                        } else {
                            out.buffer.append(bytes: record)
                        }
                        out.recordEnded()
                    }
                }
            }
        }
    }

    /// Other analyzers' tables do not change during this analyzer's packet.
    private mutating func countOpen(_ r: TaggedRecord, shard: Int) {
        let others = open.reduce(0, +) - open[shard]
        peakConnections = max(peakConnections, others + r.start)
        open[shard] = r.end
    }

    /// Every batch's records at once, each array's pointer held for the whole of `body`.
    private static func withRecords(of batches: [OutputBatch], from i: Int = 0,
                                    _ taken: [UnsafeBufferPointer<TaggedRecord>] = [],
                                    _ body: ([UnsafeBufferPointer<TaggedRecord>]) -> Void) {
        guard i < batches.count else { return body(taken) }
        batches[i].records.withUnsafeBufferPointer { withRecords(of: batches, from: i + 1, taken + [$0], body) }
    }
}

/// One analyzer's session numbers (1, 2, 3… in the order it created them) mapped to the
/// global ones. Numbers arrive in order and most sessions end soon after later ones start, so
/// a window of consecutive numbers does what a dictionary did, with an index instead of a hash
/// per record. Sessions left open far behind the window move to a small dictionary, so one
/// long session does not make the window grow with every session after it.
struct SessionNumbers {
    private var window: Deque<Int> = []
    /// The local number of `window.first`; -1 in the window marks an ended session.
    private var base = 1
    private var stragglers: [Int: Int] = [:]
    private let maxWindow: Int

    init(maxWindow: Int = 1 << 20) {
        precondition(maxWindow >= 2)
        self.maxWindow = maxWindow
    }

    mutating func started(_ local: Int, as global: Int) {
        precondition(local == base + window.count, "sessions are numbered in the order they start")
        window.append(global)
        if window.count > maxWindow {
            while window.count > maxWindow / 2 {
                let g = window.removeFirst()
                if g >= 0 { stragglers[base] = g }
                base += 1
            }
        }
    }

    mutating func ended(_ local: Int) {
        guard local >= base else { stragglers[local] = nil; return }
        let i = local - base
        guard i < window.count else { return }
        window[i] = -1
        while window.first == -1 { window.removeFirst(); base += 1 }
    }

    func global(_ local: Int) -> Int? {
        guard local >= base else { return stragglers[local] }
        let i = local - base
        guard i < window.count, window[i] >= 0 else { return nil }
        return window[i]
    }
}
