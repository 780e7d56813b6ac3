import Reports

/// Merges the analyzers' outputs for one batch by key and renumbers sessions in the order
/// they were created across analyzers.
struct RecordMerger {
    private let prefix: [UInt8]
    private var next = 0
    /// Per analyzer: its session number to the global one.
    private var ids: [[Int: Int]]
    /// Per analyzer: connections open, as of the records merged so far.
    private var open: [Int]
    private(set) var peakConnections = 0

    init(prefix: String, shards: Int) {
        self.prefix = Array(prefix.utf8)
        ids = Array(repeating: [:], count: shards)
        open = Array(repeating: 0, count: shards)
    }

    mutating func merge(_ batches: [OutputBatch], into out: Output) {
        var cursor = [Int](repeating: 0, count: batches.count)
        while true {
            var best = -1
            for s in batches.indices where cursor[s] < batches[s].records.count {
                if best < 0 || batches[s].records[cursor[s]].key < batches[best].records[cursor[best]].key { best = s }
            }
            if best < 0 { break }
            let r = batches[best].records[cursor[best]]
            cursor[best] += 1
            switch r.kind {
            case .started:
                next += 1
                ids[best][r.session] = next
            case .ended:
                ids[best][r.session] = nil
            case .count:
                // Other analyzers' tables do not change during this analyzer's packet.
                let others = open.reduce(0, +) - open[best]
                peakConnections = max(peakConnections, others + r.start)
                open[best] = r.end
            case .record:
                batches[best].buffer.withUnsafeBytes { raw in
                    guard r.idLength > 0, let id = ids[best][r.session] else {
                        out.buffer.append(bytes: UnsafeRawBufferPointer(rebasing: raw[r.start..<r.end]))
                        return
                    }
                    out.buffer.append(bytes: UnsafeRawBufferPointer(rebasing: raw[r.start..<r.idStart]))
                    out.buffer.append(bytes: prefix)
                    out.buffer.raw(0x73)
                    out.buffer.append(decimal: id)
                    out.buffer.append(bytes: UnsafeRawBufferPointer(rebasing: raw[(r.idStart + r.idLength)..<r.end]))
                }
                out.recordEnded()
            }
        }
    }
}
