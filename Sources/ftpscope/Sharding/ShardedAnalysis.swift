import FTPSession
import PacketCapture
import Reports

/// One capture analyzed by several analyzers at once, each on its own thread, with the output
/// (JSON Lines or text) merged back into exactly the order one analyzer would have written,
/// and grouped text grouped after the merge.
///
/// The reading thread sends each TCP packet to the analyzer that owns its address pair (so
/// a control connection and its data connections meet in the same analyzer) and everything
/// else to the first. Each analyzer renders its records into its own buffer, tagged with
/// what orders them globally: the index of the packet that caused them, or, for sessions
/// closed by an idle sweep or the end of input, the sweep's packet and the connection's last
/// activity and creating packet. Idle sweeps run in every analyzer at the packets where a
/// single analyzer would have run them. A merging thread takes the analyzers' outputs batch
/// by batch, in the order the batches were sent, and numbers session ids in creation order
/// across analyzers. Nothing but bytes and plain tags crosses threads.
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

    /// Several paths are read as one capture, merged in time order (`MergedCapture`).
    static func run(_ paths: [String], filter: String?, configuration: AnalyzerConfiguration, shards: Int,
                    renderer: () -> Renderer, out: Output,
                    progress: ((Int64, Int64) -> Void)?) throws(CaptureError) -> InputOutcome {
        guard paths.count > 1 else {
            let source = try PcapSource.openFile(paths[0])
            if let filter { try source.setFilter(filter) }
            return run(source, configuration: configuration, shards: shards, renderer: renderer, out: out, progress: progress)
        }
        return run(try MergedCapture(paths: paths, filter: filter), configuration: configuration, shards: shards,
                   renderer: renderer, out: out, progress: progress)
    }

    private static func run<Source: PacketSource>(_ source: Source, configuration: AnalyzerConfiguration, shards: Int,
                                                  renderer: () -> Renderer, out: Output,
                                                  progress: ((Int64, Int64) -> Void)?) -> InputOutcome {
        precondition(shards > 1)
        let decoder = PacketDecoder(linkType: source.linkType)
        let fragments = FragmentReassembler()
        var config = configuration.withSecrets(of: source)
        config.externalSweeps = true
        // Put together here, before the split: only a datagram's first fragment says its connection.
        config.reassemblesFragments = false
        config.maxConnections = max(1, configuration.maxConnections / shards)
        let renderers = (0..<shards).map { _ in renderer() }
        let workers = renderers.map { ShardWorker(configuration: config, render: $0) }
        // Merging runs on a thread of its own: on the reading thread it waited for the slowest
        // analyzer's oldest batch while the other analyzer, its queue drained, had nothing to do.
        let merging = MergeThread(workers: workers, prefix: configuration.sessionPrefix,
                                  grouping: renderers[0].heading != nil, out: out)

        var batches = workers.map { _ in InputBatch() }
        // The same batches, for the per-packet append: an access through `batches` (even an
        // unowned(unsafe) local) retained and released the batch for every packet.
        var filling = batches.map { Unmanaged.passUnretained($0) }
        var clock = SweepClock(interval: Analyzer.sweepInterval)
        var index: UInt64 = 0
        var damage: CaptureError?

        func dispatch(last: Bool) {
            for (s, w) in workers.enumerated() {
                batches[s].isLast = last
                batches[s].finalClock = clock.now
                w.input.put(batches[s])
                // After the last batch the reader keeps its reference but never touches it again.
                if !last {
                    batches[s] = w.spareInputs.take() ?? InputBatch()
                    filling[s] = .passUnretained(batches[s])
                }
            }
            merging.dispatched(last: last)
        }

        var inBatch = 0
        read: while true {
            let result: ReadResult
            do { result = try source.next() } catch { damage = error; break read }
            guard case .packet(var p) = result else { break read }
            clock.note(p.timestamp)
            var shard = 0
            var decoded = decoder.decode(p)
            fragments.resolve(&p, &decoded, decoder: decoder)
            if case .success(let segment) = decoded {
                shard = Int(AddressPair.hash(segment.source.address, segment.destination.address) % UInt64(shards))
                // The same instants a single analyzer would sweep at: on TCP segments only.
                if clock.sweepDue() {
                    for s in 0..<shards { batches[s].sweeps.append(Sweep(index: index, now: clock.now)) }
                }
            }
            // `batches` holds the batch while it is filled.
            let full = filling[shard]._withUnsafeGuaranteedRef { batch in
                batch.add(p, decoded: decoded, index: index, clock: clock.now)
                return batch.byteCount >= batchBytes
            }
            index += 1
            inBatch += 1
            if inBatch >= batchPackets || full {
                dispatch(last: false)
                inBatch = 0
                if let progress, let off = source.fileOffset, let size = source.fileSize { progress(off, size) }
            }
        }
        dispatch(last: true)

        let peak = merging.join()
        var summary = CaptureSummary()
        for w in workers { summary.merge(w.join()) }
        summary.peakConnections = peak
        fragments.finish()
        summary.add(fragments.counts)
        // Each datagram was counted in place of the frame it replaced: `bytes` stays the capture's.
        summary.bytes -= fragments.counts.addedBytes
        return InputOutcome(summary: summary, damage: damage, damageReadPast: source.damageReadPast)
    }
}

/// Takes each batch's outputs from every analyzer, in the order the batches were sent, and
/// merges them into the output. The reading thread only counts what it sent.
private final class MergeThread: @unchecked Sendable {
    private let sent = BlockingQueue<Bool>(capacity: .max)
    private var thread: JoinableThread?
    private var peak = 0

    init(workers: [ShardWorker], prefix: String, grouping: Bool, out: Output) {
        // The output is this thread's alone until `join`, which the caller waits for before
        // writing anything else.
        nonisolated(unsafe) let out = out
        thread = startThread(name: "ftpscope-merge") { [unowned self] in
            var merger = RecordMerger(prefix: prefix, shards: workers.count, grouping: grouping)
            while true {
                let last = sent.take()
                let outputs = workers.map { $0.output.take() }
                merger.merge(outputs, into: out)
                for (w, o) in zip(workers, outputs) { o.reset(); w.spareOutputs.give(o) }
                if last { break }
            }
            merger.finish(into: out)
            peak = merger.peakConnections
        }
    }

    /// One more batch went to every analyzer.
    func dispatched(last: Bool) { sent.put(last) }

    /// Waits for the last batch's merge; the peak of open connections over the capture.
    func join() -> Int {
        thread?.join()
        return peak
    }
}
