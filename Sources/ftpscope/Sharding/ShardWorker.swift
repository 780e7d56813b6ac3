import FTPSession
import PacketCapture
import Reports

/// One analyzer on its own thread.
final class ShardWorker: @unchecked Sendable {
    let input = BlockingQueue<InputBatch>(capacity: ShardedAnalysis.depth + 1)
    let output = BlockingQueue<OutputBatch>(capacity: ShardedAnalysis.depth + 1)
    // Batches go back to where they are filled once used: fresh large buffers cost a page
    // fault per page every time, reused ones are already mapped and warm.
    let spareInputs = SparePool<InputBatch>()
    let spareOutputs = SparePool<OutputBatch>()
    private var thread: JoinableThread?
    private var summary = CaptureSummary()

    init(configuration: AnalyzerConfiguration, render: Renderer) {
        // Each analyzer has a renderer of its own, used on its thread alone.
        nonisolated(unsafe) let render = render
        thread = startThread(name: "ftpscope-shard") { [unowned self] in self.run(configuration, render) }
    }

    func join() -> CaptureSummary {
        thread?.join()
        return summary
    }

    /// Where the analyzer's records go and the key they get: shared by reference between the
    /// loop and the analyzer's callbacks, which run while the loop is inside the analyzer.
    private final class Cursor {
        /// The batch being filled. The run loop holds it strongly; this reference is used for
        /// every record. Each access through a strong or an `unowned(unsafe)` property retained
        /// and released it (three times per record); used through `withBatch`, it is not.
        private var batch: Unmanaged<OutputBatch>
        var key = MergeKey(position: 0, lastSeen: 0, serial: 0)

        init(_ batch: OutputBatch) { self.batch = .passUnretained(batch) }

        /// Fills `next` from now on; the caller keeps it alive while it is filled.
        func fill(_ next: OutputBatch) { batch = .passUnretained(next) }

        @inline(__always)
        func withBatch<R>(_ body: (OutputBatch) -> R) -> R { batch._withUnsafeGuaranteedRef(body) }

        func append(_ kind: TaggedRecord.Kind, start: Int, end: Int, idStart: Int = 0, idLength: Int = 0, session: Int = 0, key k: MergeKey? = nil) {
            let record = TaggedRecord(kind: kind, key: k ?? key, start: start, end: end,
                                      idStart: idStart, idLength: idLength, session: session)
            withBatch { $0.records.append(record) }
        }

        /// Renders one event (`write` calls the renderer) into the batch and tags it.
        @inline(__always)
        func record(_ write: (inout JSONWriter) -> Void) {
            let tagged: TaggedRecord? = withBatch { batch in
                let start = batch.buffer.byteCount
                write(&batch.buffer)
                let end = batch.buffer.byteCount
                guard end > start else { return nil }
                let (idStart, idLength, session) = ShardWorker.sessionID(in: batch.buffer, from: start, to: end)
                return TaggedRecord(kind: .record, key: key, start: start, end: end,
                                    idStart: idStart, idLength: idLength, session: session)
            }
            if let tagged { withBatch { $0.records.append(tagged) } }
        }

        /// A session started: its heading rendered and tagged with the start, its id marked.
        func started(_ identity: SessionIdentity, heading: (SessionIdentity, inout JSONWriter) -> Void) {
            let tagged: TaggedRecord = withBatch { batch in
                let start = batch.buffer.byteCount
                heading(identity, &batch.buffer)
                let end = batch.buffer.byteCount
                let (idStart, idLength, _) = ShardWorker.sessionID(in: batch.buffer, from: start, to: end)
                return TaggedRecord(kind: .started, key: key, start: start, end: end,
                                    idStart: idStart, idLength: idLength, session: ShardWorker.number(of: identity))
            }
            withBatch { $0.records.append(tagged) }
        }

        /// The end of the batch's bytes so far.
        var byteCount: Int { withBatch { $0.buffer.byteCount } }
    }

    private func run(_ configuration: AnalyzerConfiguration, _ render: Renderer) {
        var filling = OutputBatch()
        let cursor = Cursor(filling)
        let analyzer = Analyzer(configuration: configuration, sink: render.sink { cursor.record($0) })
        analyzer.sessionEnded = { identity in
            let end = cursor.byteCount
            cursor.append(.ended, start: end, end: end, session: ShardWorker.number(of: identity))
        }
        if let heading = render.heading {
            analyzer.sessionStarted = { identity in cursor.started(identity, heading: heading) }
        } else {
            analyzer.sessionStarted = { identity in
                cursor.append(.started, start: 0, end: 0, session: ShardWorker.number(of: identity))
            }
        }
        analyzer.closing = { lastSeen, serial in
            cursor.key.lastSeen = lastSeen.nanoseconds
            cursor.key.serial = serial
        }
        // A ring the analyzer's thread alone uses, allocated once: an array's checks and
        // uniqueness tests ran three times per packet.
        let probes = UnsafeMutablePointer<Analyzer.FlowProbe?>.allocate(capacity: ShardWorker.ringSize)
        probes.initialize(repeating: nil, count: ShardWorker.ringSize)
        defer { probes.deallocate() }
        while true {
            filling = spareOutputs.take() ?? OutputBatch()
            cursor.fill(filling)
            let batch = input.take()
            var sweepIndex = 0
            batch.withUnsafeBytes { raw in batch.packets.withUnsafeBufferPointer { packets in
                // Fields read in place: a copy of each 120-byte packet (and of its decoded
                // segment, twice more) was most of this loop's own cost.
                for n in packets.indices {
                    ShardWorker.lookahead(packets, from: n, analyzer, probes)
                    let index = packets[n].index
                    while sweepIndex < batch.sweeps.count, batch.sweeps[sweepIndex].index <= index {
                        sweep(batch.sweeps[sweepIndex], analyzer, cursor)
                        sweepIndex += 1
                    }
                    cursor.key = MergeKey(position: index * 2 + 1, lastSeen: 0, serial: 0)
                    analyzer.advanceClock(to: packets[n].clock)
                    let offset = packets[n].offset
                    let frame = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + packets[n].length)])
                    let decoded: Result<TCPSegment, DecodeOutcome>
                    switch packets[n].decoded {
                    case .success(var segment):
                        // The payload pointer still points into the reader's buffer: move it to the copy.
                        let start = offset + packets[n].payloadOffset
                        segment.payload = UnsafeRawBufferPointer(rebasing: raw[start..<(start + segment.payload.count)])
                        decoded = .success(segment)
                    case .failure(let why):
                        decoded = .failure(why)
                    }
                    let (open, connections, evictions) = (analyzer.openConnections, analyzer.connectionsCreated, analyzer.evictionCount)
                    analyzer.process(RawPacket(timestamp: packets[n].timestamp, wireLength: packets[n].wireLength, bytes: frame),
                                     decoded: decoded, index: index, probe: probes[n & (ShardWorker.ringSize - 1)])
                    // At most one insertion per packet, after any eviction it caused.
                    let inserted = analyzer.connectionsCreated != connections
                    let peak = inserted ? open - (analyzer.evictionCount - evictions) + 1 : open
                    if inserted || analyzer.openConnections != open {
                        cursor.append(.count, start: peak, end: analyzer.openConnections)
                    }
                }
            } }
            while sweepIndex < batch.sweeps.count {
                sweep(batch.sweeps[sweepIndex], analyzer, cursor)
                sweepIndex += 1
            }
            if batch.isLast {
                cursor.key = MergeKey(position: .max, lastSeen: 0, serial: 0)
                analyzer.advanceClock(to: batch.finalClock)
                summary = analyzer.finish()
                cursor.record(render.finish)
            }
            output.put(filling)
            let last = batch.isLast
            batch.reset()
            spareInputs.give(batch)
            if last { break }
        }
    }

    /// A ring of probes by packet position, larger than the farthest distance.
    static let ringSize = 32

    /// Computes the probe of the packet `Analyzer.probeDistance` ahead (at a batch's start, of
    /// all up to there) and runs the later steps for the packets nearer.
    @inline(__always)
    private static func lookahead(_ packets: UnsafeBufferPointer<InputBatch.Packet>, from n: Int, _ analyzer: Analyzer,
                                  _ probes: UnsafeMutablePointer<Analyzer.FlowProbe?>) {
        @inline(__always) func probe(_ k: Int) {
            if case .success(let segment) = packets[k].decoded {
                probes[k & (ringSize - 1)] = analyzer.probe(segment)
            } else {
                probes[k & (ringSize - 1)] = nil
            }
        }
        if n == 0 {
            for k in 0..<min(Analyzer.probeDistance, packets.count) { probe(k) }
        }
        if n + Analyzer.probeDistance < packets.count { probe(n + Analyzer.probeDistance) }
        analyzer.lookahead { d in n + d < packets.count ? probes[(n + d) & (ringSize - 1)] : nil }
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

    /// The analyzer's session number (its ids have no prefix): what the merger maps.
    static func number(of identity: SessionIdentity) -> Int { identity.number }

    /// The renderer marks where it writes a record's session id (`"s<n>"` in JSON, `s<n>` in
    /// text); its position, length and number. A record that does not show its id may carry
    /// its session's number (grouped text); a record with neither is passed through unchanged.
    static func sessionID(in buffer: borrowing JSONWriter, from start: Int, to end: Int) -> (Int, Int, Int) {
        let mark = buffer.identityMark
        guard mark >= start, mark + 2 < end else {
            let session = buffer.sessionMark
            return session.start == start ? (start, 0, session.number) : (start, 0, -1)
        }
        return buffer.withUnsafeBytes { raw in
            let id = raw[mark] == 0x22 ? mark + 1 : mark
            guard raw[id] == 0x73 else { return (start, 0, -1) }
            var k = id + 1, n = 0
            while k < end, raw[k] >= 0x30, raw[k] <= 0x39 { n = n * 10 + Int(raw[k] - 0x30); k += 1 }
            return (id, k - id, n)
        }
    }
}
