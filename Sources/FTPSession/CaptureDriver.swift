import PacketCapture

/// How reading one input ended.
public struct InputOutcome: Sendable {
    public var summary: CaptureSummary
    /// The damage the input ended at; everything before it was analyzed.
    public var damage: CaptureError?
    /// Damage read past: files of a merged capture cut short while the others went on.
    public var damageReadPast: [CaptureError]
    public init(summary: CaptureSummary, damage: CaptureError?, damageReadPast: [CaptureError] = []) {
        self.summary = summary; self.damage = damage; self.damageReadPast = damageReadPast
    }

    /// All of it, in the order it was met.
    public var damages: [CaptureError] { damageReadPast + (damage.map { [$0] } ?? []) }
}

/// Runs packets from a libpcap source through an analyzer: the one loop shared by offline
/// files and live interfaces.
public enum CaptureDriver {
    /// Reads a whole file. Errors opening it are thrown; damage later is returned as an outcome.
    public static func analyzeFile(_ path: String, filter: String?, configuration: AnalyzerConfiguration,
                                   progress: ((Int64, Int64) -> Void)? = nil,
                                   sink: EventSink) throws(CaptureError) -> InputOutcome {
        let source = try PcapSource.openFile(path)
        if let filter { try source.setFilter(filter) }
        return run(source, configuration: configuration.withSecrets(of: source), readAheadFrom: PacketWindow.worthwhileFrom,
                   progress: progress, sink: sink)
    }

    /// Reads several files as one capture, merged in time order (see `MergedCapture`); one file
    /// is read as `analyzeFile` reads it.
    public static func analyzeFiles(_ paths: [String], filter: String?, configuration: AnalyzerConfiguration,
                                    progress: ((Int64, Int64) -> Void)? = nil,
                                    sink: EventSink) throws(CaptureError) -> InputOutcome {
        guard paths.count > 1 else {
            return try analyzeFile(paths[0], filter: filter, configuration: configuration, progress: progress, sink: sink)
        }
        let source = try MergedCapture(paths: paths, filter: filter)
        return run(source, configuration: configuration.withSecrets(of: source), readAheadFrom: PacketWindow.worthwhileFrom,
                   progress: progress, sink: sink)
    }

    /// `afterEach` runs after every packet, `idle` whenever a live source has no packet waiting.
    /// `readAheadFrom`: while at least this many connections are open, read a window of packets
    /// ahead of the analyzer so that its lookahead can prefetch their flows (nil never reads
    /// ahead). A live source holds packets back only while more are waiting: the window is
    /// emptied whenever the kernel's buffer is.
    ///
    /// Generic so that each kind of source gets a loop of its own (the files' callers here are
    /// specialised; a live interface's one witness call a packet is nothing beside its analysis).
    public static func run<Source: PacketSource>(_ source: Source, configuration: AnalyzerConfiguration,
                           readAheadFrom: Int? = nil,
                           progress: ((Int64, Int64) -> Void)? = nil,
                           shouldStop: () -> Bool = { false },
                           drainWhenStopped: () -> Bool = { true },
                           afterEach: (() -> Void)? = nil,
                           idle: (() -> Void)? = nil,
                           sink: EventSink) -> InputOutcome {
        let analyzer = Analyzer(configuration: configuration, sink: sink)
        let decoder = PacketDecoder(linkType: source.linkType)
        let window = readAheadFrom.map { _ in PacketWindow() }
        let aheadFrom = readAheadFrom ?? .max
        var damage: CaptureError?
        var count = 0
        var idleTicks = 0
        // Live sources are read without blocking: `.timeout` then means the kernel's buffer is
        // empty, the moment to flush what was rendered (under load it is rarely empty, and
        // output goes out in large writes), before waiting for more.
        if source.isLive { source.setNonblocking() }
        loop: while !shouldStop() {
            do {
                switch try source.next() {
                case .packet(let p):
                    if let window, analyzer.openConnections >= aheadFrom {
                        if window.isFull { window.processOldest(analyzer) }
                        window.push(p, decoder: decoder, analyzer: analyzer)
                    } else {
                        // Packets held back go first: the order never changes.
                        while let window, window.count > 0 { window.processOldest(analyzer) }
                        analyzer.process(p, decoder: decoder)
                    }
                    count += 1
                    if let progress, count & 0x3FFF == 0, let off = source.fileOffset, let size = source.fileSize {
                        progress(off, size)
                    }
                    afterEach?()
                case .timeout:
                    while let window, window.count > 0 { window.processOldest(analyzer) }
                    idle?()
                    if !source.waitForPackets(milliseconds: 100) {
                        // Idle sessions must still time out when the wire goes quiet.
                        idleTicks += 1
                        if idleTicks % 50 == 0 { analyzer.expireIdle(now: wallClock()) }
                    }
                case .end:
                    break loop
                }
            } catch {
                damage = error
                break loop
            }
        }
        while let window, window.count > 0 { window.processOldest(analyzer) }
        if source.isLive && damage == nil && drainWhenStopped() {
            // Stopping (signal, --duration, --count) must not lose what the kernel already
            // captured. In block mode the last packets sit in a block the kernel hands over
            // only when its timer fires (100 ms), so an empty buffer is not the end: read until
            // nothing more comes for twice that, or a packet captured after the stop arrives.
            // A signal's break is reported by the next read once; it is not the end either.
            let stoppedAt = wallClock()
            var drained = 0, breaks = 0
            drain: while drained < 1_000_000 {
                switch try? source.next() {
                case .packet(let p)?:
                    // The first packet after the stop is the last: `--write` has saved it
                    // already, and the file must give the same records.
                    analyzer.process(p, decoder: decoder)
                    afterEach?()
                    drained += 1
                    if p.timestamp > stoppedAt { break drain }
                case .timeout?:
                    if !source.waitForPackets(milliseconds: 200) { break drain }
                case .end?:
                    breaks += 1
                    if breaks > 1 { break drain }
                case nil:
                    break drain
                }
            }
        }
        return InputOutcome(summary: analyzer.finish(), damage: damage, damageReadPast: source.damageReadPast)
    }

    private static func wallClock() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec))
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension CaptureSummary {
    /// Adds what a reassembler did with the input's fragments.
    public mutating func add(_ c: FragmentReassembler.Counts) {
        ipFragments += c.fragments; ipDatagramsReassembled += c.datagrams
        ipFragmentsUnreassembled += c.unreassembled; ipFragmentConflicts += c.conflicts
    }

    /// A packet of a link type not decoded (off the path of decoded packets).
    mutating func countUnsupported(_ dlt: Int32) {
        unsupportedLinkType += 1
        if !unsupportedLinkTypes.contains(dlt) { unsupportedLinkTypes.append(dlt); unsupportedLinkTypes.sort() }
    }

    /// libpcap's names of the link types not decoded, for messages (`PPI, DLT 147`).
    public var unsupportedLinkTypeNames: String {
        unsupportedLinkTypes.map { LinkType(dlt: $0).name }.joined(separator: ", ")
    }

    /// Adds another input's totals (several files in one run).
    public mutating func merge(_ o: CaptureSummary) {
        packets += o.packets; bytes += o.bytes; tcpSegments += o.tcpSegments
        notIP += o.notIP; notTCP += o.notTCP; ipFragments += o.ipFragments
        ipDatagramsReassembled += o.ipDatagramsReassembled; ipFragmentsUnreassembled += o.ipFragmentsUnreassembled
        ipFragmentConflicts += o.ipFragmentConflicts
        unsupportedLinkType += o.unsupportedLinkType; truncatedPackets += o.truncatedPackets
        unsupportedLinkTypes = Array(Set(unsupportedLinkTypes).union(o.unsupportedLinkTypes)).sorted()
        connections += o.connections; ftpSessions += o.ftpSessions; dataConnections += o.dataConnections
        replies += o.replies; commands += o.commands; gaps += o.gaps; gapBytes += o.gapBytes
        missingDataBytes += o.missingDataBytes
        evictions += o.evictions; idleExpirations += o.idleExpirations; bufferCapHits += o.bufferCapHits
        peakConnections = max(peakConnections, o.peakConnections)
        filesExtracted += o.filesExtracted
        for (k, v) in o.extractionFailures { extractionFailures[k, default: 0] += v }
        for (k, v) in o.malformed { malformed[k, default: 0] += v }
        for (k, v) in o.anomalies { anomalies[k, default: 0] += v }
        for (k, v) in o.repliesByClass { repliesByClass[k, default: 0] += v }
        if let f = o.first, first == nil || f < first! { first = f }
        if let l = o.last, last == nil || l > last! { last = l }
    }
}
