import Foundation
import FTPSession
import PacketCapture
import Reports

/// One capture analyzed by several analyzers at once, each on its own thread, with the JSON
/// Lines output merged back into exactly the order one analyzer would have written.
///
/// The reading thread sends each TCP packet to the analyzer that owns its address pair (so
/// a control connection and its data connections meet in the same analyzer) and everything
/// else to the first. Each analyzer renders its records into its own buffer, tagged with
/// what orders them globally: the index of the packet that caused them, or, for sessions
/// closed by an idle sweep or the end of input, the sweep's packet and the connection's last
/// activity and creating packet. Idle sweeps run in every analyzer at the packets where a
/// single analyzer would have run them. Session ids are numbered in creation order across
/// analyzers while merging. Nothing but bytes and plain tags crosses threads.
///
/// The peak of open connections is recomputed from each analyzer's table size at each of its
/// packets, so it is exact too.
///
/// What differs from one analyzer, by construction: login failures are counted per analyzer
/// (a client that fails against servers in different analyzers is counted separately),
/// a data connection to an address other than the control connection's pair is not matched,
/// and the connection cap is divided between analyzers. README documents these; `--jobs 1`
/// keeps one analyzer.
enum ShardedAnalysis {
    /// Packets per hand-over: large enough that locking is rare, small enough that batches
    /// in flight stay in cache (control-heavy: 8192 → 4096 took 3.9 s to 3.4 s and 237 to
    /// 220 MiB; 2048 was no faster).
    static let batchPackets = 4096
    /// Full-size frames fill a batch by bytes first: this bounds memory on data-heavy captures.
    static let batchBytes = 1 << 20
    /// Batches under way per analyzer.
    static let depth = 3

    static func run(_ path: String, filter: String?, configuration: AnalyzerConfiguration, shards: Int,
                    render: @escaping Renderer, out: Output,
                    progress: ((Int64, Int64) -> Void)?) throws(CaptureError) -> InputOutcome {
        precondition(shards > 1)
        let source = try PcapSource.openFile(path)
        if let filter { try source.setFilter(filter) }
        let decoder = PacketDecoder(linkType: source.linkType)
        var config = configuration
        config.externalSweeps = true
        config.maxConnections = max(1, configuration.maxConnections / shards)
        let workers = (0..<shards).map { _ in
            ShardWorker(configuration: config, render: render)
        }
        var merger = RecordMerger(prefix: configuration.sessionPrefix, shards: shards)

        var batches = workers.map { _ in InputBatch() }
        var sent = 0, merged = 0
        var clock = SweepClock(interval: Analyzer.sweepInterval)
        var index: UInt64 = 0
        var damage: CaptureError?

        func dispatch(last: Bool) {
            for (s, w) in workers.enumerated() {
                batches[s].isLast = last
                batches[s].finalClock = clock.now
                w.input.put(batches[s])
                batches[s] = w.spareInputs.take() ?? InputBatch()
            }
            sent += 1
            // Keep `depth` batches in flight; merge the oldest once it is done everywhere.
            while sent - merged > (last ? 0 : depth) {
                let outputs = workers.map { $0.output.take() }
                merger.merge(outputs, into: out)
                for (w, o) in zip(workers, outputs) { o.reset(); w.spareOutputs.give(o) }
                merged += 1
            }
        }

        var inBatch = 0
        read: while true {
            let result: ReadResult
            do { result = try source.next() } catch { damage = error; break read }
            guard case .packet(let p) = result else { break read }
            clock.note(p.timestamp)
            var shard = 0
            let decoded = decoder.decode(p.bytes)
            if case .success(let segment) = decoded {
                shard = Int(AddressPair.hash(segment.source.address, segment.destination.address) % UInt64(shards))
                // The same instants a single analyzer would sweep at: on TCP segments only.
                if clock.sweepDue() {
                    for s in 0..<shards { batches[s].sweeps.append(Sweep(index: index, now: clock.now)) }
                }
            }
            batches[shard].add(p, decoded: decoded, index: index, clock: clock.now)
            index += 1
            inBatch += 1
            if inBatch >= batchPackets || batches[shard].bytes.count >= batchBytes {
                dispatch(last: false)
                inBatch = 0
                if let progress, let off = source.fileOffset, let size = source.fileSize { progress(off, size) }
            }
        }
        dispatch(last: true)

        var summary = CaptureSummary()
        for w in workers { summary.merge(w.join()) }
        summary.peakConnections = merger.peakConnections
        return InputOutcome(summary: summary, damage: damage)
    }
}

/// When a single analyzer would run its idle sweep: every ten seconds of capture time,
/// checked on TCP segments, against the latest timestamp seen.
struct SweepClock {
    let interval: Int64
    private(set) var now = Timestamp.zero
    private var last: Timestamp?

    init(interval: Int64) { self.interval = interval }

    mutating func note(_ ts: Timestamp) { if ts > now { now = ts } }

    mutating func sweepDue() -> Bool {
        guard let l = last else { last = now; return false }
        if now.nanoseconds - l.nanoseconds >= interval { last = now; return true }
        return false
    }
}

/// Which analyzer owns a connection: a hash of its two addresses that does not depend on
/// direction, so both directions, and data connections between the same hosts, agree.
enum AddressPair {
    static func hash(_ a: IPAddress, _ b: IPAddress) -> UInt64 {
        murmurMix(word(a)) &+ murmurMix(word(b))
    }

    private static func word(_ a: IPAddress) -> UInt64 {
        switch a {
        case .v4(let v): UInt64(v)
        case .v6(let hi, let lo): hi ^ (lo &* 0x9E37_79B9_7F4A_7C15) ^ 1 << 63
        }
    }

}

struct Sweep {
    var index: UInt64
    var now: Timestamp
}

/// Packets for one analyzer: frames back to back in one buffer, with their headers.
final class InputBatch: @unchecked Sendable {
    struct Packet {
        var offset: Int
        var length: Int
        var wireLength: Int
        var timestamp: Timestamp
        /// The latest timestamp of the whole capture once this packet is read.
        var clock: Timestamp
        var index: UInt64
        /// Decoded once, by the reading thread; a segment's payload is found again in the
        /// copied frame from its offset.
        var decoded: Result<TCPSegment, DecodeOutcome>
        var payloadOffset: Int
    }
    var bytes: [UInt8] = []
    var packets: [Packet] = []
    var sweeps: [Sweep] = []
    var isLast = false
    var finalClock = Timestamp.zero

    init() {
        bytes.reserveCapacity(1 << 20)
        packets.reserveCapacity(ShardedAnalysis.batchPackets)
    }

    /// Empty again, keeping its storage.
    func reset() {
        bytes.removeAll(keepingCapacity: true)
        packets.removeAll(keepingCapacity: true)
        sweeps.removeAll(keepingCapacity: true)
        isLast = false
    }

    func add(_ p: RawPacket, decoded: Result<TCPSegment, DecodeOutcome>, index: UInt64, clock: Timestamp) {
        var payloadOffset = 0
        if case .success(let s) = decoded, let base = p.bytes.baseAddress, let payload = s.payload.baseAddress {
            payloadOffset = payload - base
        }
        packets.append(Packet(offset: bytes.count, length: p.bytes.count, wireLength: p.wireLength,
                              timestamp: p.timestamp, clock: clock, index: index, decoded: decoded,
                              payloadOffset: payloadOffset))
        bytes.append(bytes: p.bytes)
    }
}

/// Where a record goes in the merged output, compared field by field.
struct MergeKey: Comparable {
    /// 2 × packet index for a sweep before that packet, 2 × index + 1 for the packet itself,
    /// the maximum for the end of input.
    var position: UInt64
    /// For sessions closed by a sweep or the end of input: last activity, then creating packet.
    var lastSeen: Int64
    var serial: UInt64

    static func < (l: MergeKey, r: MergeKey) -> Bool {
        (l.position, l.lastSeen, l.serial) < (r.position, r.lastSeen, r.serial)
    }
}

/// One entry of a shard's output: a rendered record, or a session starting or ending.
struct TaggedRecord {
    /// `count`: the analyzer's table size changed; `start` holds the size just after an
    /// insertion during this packet (its peak), `end` the size after the packet.
    enum Kind: UInt8 { case record, started, ended, count }
    var kind: Kind
    var key: MergeKey
    var start: Int
    var end: Int
    /// Where the analyzer's own session id sits in the record, and its number.
    var idStart: Int
    var idLength: Int
    var session: Int
}

/// An analyzer's records for one input batch.
final class OutputBatch: @unchecked Sendable {
    var buffer = JSONWriter(capacity: 1 << 18)
    var records: [TaggedRecord] = []

    /// Empty again, keeping its storage.
    func reset() {
        buffer.clear()
        records.removeAll(keepingCapacity: true)
    }
}

/// Used batches waiting to be filled again.
final class SparePool<Element: AnyObject>: @unchecked Sendable {
    private var items: [Element] = []
    private let lock = NSLock()

    func give(_ item: Element) { lock.lock(); items.append(item); lock.unlock() }
    func take() -> Element? { lock.lock(); defer { lock.unlock() }; return items.popLast() }
}

/// One analyzer on its own thread.
final class ShardWorker: @unchecked Sendable {
    let input = BlockingQueue<InputBatch>(capacity: ShardedAnalysis.depth + 1)
    let output = BlockingQueue<OutputBatch>(capacity: ShardedAnalysis.depth + 1)
    // Batches go back to where they are filled once used: fresh large buffers cost a page
    // fault per page every time, reused ones are already mapped and warm.
    let spareInputs = SparePool<InputBatch>()
    let spareOutputs = SparePool<OutputBatch>()
    private let done = DispatchSemaphore(value: 0)
    private var summary = CaptureSummary()

    init(configuration: AnalyzerConfiguration, render: @escaping Renderer) {
        // The JSON Lines renderer only reads its immutable encoder, so analyzers may share it.
        nonisolated(unsafe) let render = render
        let t = Thread { [unowned self] in self.run(configuration, render) }
        t.name = "ftpscope-shard"
        t.start()
    }

    func join() -> CaptureSummary {
        done.wait()
        return summary
    }

    /// Where the analyzer's records go and the key they get: shared by reference between the
    /// loop and the analyzer's callbacks, which run while the loop is inside the analyzer.
    private final class Cursor {
        var batch = OutputBatch()
        var key = MergeKey(position: 0, lastSeen: 0, serial: 0)

        func append(_ kind: TaggedRecord.Kind, start: Int, end: Int, idStart: Int = 0, idLength: Int = 0, session: Int = 0, key k: MergeKey? = nil) {
            batch.records.append(TaggedRecord(kind: kind, key: k ?? key, start: start, end: end,
                                              idStart: idStart, idLength: idLength, session: session))
        }
    }

    private func run(_ configuration: AnalyzerConfiguration, _ render: @escaping Renderer) {
        let cursor = Cursor()
        let analyzer = Analyzer(configuration: configuration) { event in
            let start = cursor.batch.buffer.byteCount
            render(event, &cursor.batch.buffer)
            let end = cursor.batch.buffer.byteCount
            if end > start {
                let (idStart, idLength, session) = ShardWorker.sessionID(in: cursor.batch.buffer, from: start, to: end)
                cursor.append(.record, start: start, end: end, idStart: idStart, idLength: idLength, session: session)
            }
            if case .session(let s) = event {
                cursor.append(.ended, start: end, end: end, session: ShardWorker.number(of: s.session))
            }
        }
        analyzer.sessionStarted = { identity in
            cursor.append(.started, start: 0, end: 0, session: ShardWorker.number(of: identity))
        }
        analyzer.closing = { lastSeen, serial in
            cursor.key.lastSeen = lastSeen.nanoseconds
            cursor.key.serial = serial
        }
        while true {
            cursor.batch = spareOutputs.take() ?? OutputBatch()
            let batch = input.take()
            var sweepIndex = 0
            batch.bytes.withUnsafeBytes { raw in
                for p in batch.packets {
                    while sweepIndex < batch.sweeps.count, batch.sweeps[sweepIndex].index <= p.index {
                        sweep(batch.sweeps[sweepIndex], analyzer, cursor)
                        sweepIndex += 1
                    }
                    cursor.key = MergeKey(position: p.index * 2 + 1, lastSeen: 0, serial: 0)
                    analyzer.advanceClock(to: p.clock)
                    let frame = UnsafeRawBufferPointer(rebasing: raw[p.offset..<(p.offset + p.length)])
                    var decoded = p.decoded
                    if case .success(var segment) = decoded {
                        // The payload pointer still points into the reader's buffer: move it to the copy.
                        let start = p.offset + p.payloadOffset
                        segment.payload = UnsafeRawBufferPointer(rebasing: raw[start..<(start + segment.payload.count)])
                        decoded = .success(segment)
                    }
                    let (open, connections, evictions) = (analyzer.openConnections, analyzer.connectionsCreated, analyzer.evictionCount)
                    analyzer.process(RawPacket(timestamp: p.timestamp, wireLength: p.wireLength, bytes: frame),
                                     decoded: decoded, index: p.index)
                    // At most one insertion per packet, after any eviction it caused.
                    let inserted = analyzer.connectionsCreated != connections
                    let peak = inserted ? open - (analyzer.evictionCount - evictions) + 1 : open
                    if inserted || analyzer.openConnections != open {
                        cursor.append(.count, start: peak, end: analyzer.openConnections)
                    }
                }
            }
            while sweepIndex < batch.sweeps.count {
                sweep(batch.sweeps[sweepIndex], analyzer, cursor)
                sweepIndex += 1
            }
            if batch.isLast {
                cursor.key = MergeKey(position: .max, lastSeen: 0, serial: 0)
                analyzer.advanceClock(to: batch.finalClock)
                summary = analyzer.finish()
            }
            output.put(cursor.batch)
            let last = batch.isLast
            batch.reset()
            spareInputs.give(batch)
            if last { break }
        }
        done.signal()
    }

    private func sweep(_ s: Sweep, _ analyzer: Analyzer, _ cursor: Cursor) {
        cursor.key = MergeKey(position: s.index * 2, lastSeen: 0, serial: 0)
        analyzer.advanceClock(to: s.now)
        let open = analyzer.openConnections
        analyzer.expireIdle(now: s.now)
        if analyzer.openConnections != open {
            // After the sweep's records; a sweep only lowers the count, so it is no peak.
            cursor.append(.count, start: analyzer.openConnections, end: analyzer.openConnections,
                          key: MergeKey(position: s.index * 2, lastSeen: .max, serial: .max))
        }
    }

    /// The analyzer's ids are `s<number>` (no prefix): the number is what the merger maps.
    static func number(of identity: SessionIdentity) -> Int {
        Int(identity.id.dropFirst()) ?? 0
    }

    /// The encoder marks where it writes a record's session id (`"s<n>"`); its position,
    /// length and number. A record without a mark is passed through unchanged.
    static func sessionID(in buffer: borrowing JSONWriter, from start: Int, to end: Int) -> (Int, Int, Int) {
        let mark = buffer.identityMark
        guard mark >= start, mark + 2 < end else { return (start, 0, -1) }
        return buffer.withUnsafeBytes { raw in
            guard raw[mark] == 0x22, raw[mark + 1] == 0x73 else { return (start, 0, -1) }
            var k = mark + 2, n = 0
            while k < end, raw[k] >= 0x30, raw[k] <= 0x39 { n = n * 10 + Int(raw[k] - 0x30); k += 1 }
            return (mark + 1, k - mark - 1, n)
        }
    }
}

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
