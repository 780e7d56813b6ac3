import PacketCapture

/// Packets of a file read a few ahead of the analyzer, so that it can ask the cache for each
/// packet's flow-table bucket, entry and session object before it gets there (see
/// `Analyzer.Lookahead`): with many connections open those are misses every packet.
///
/// libpcap reuses its buffer on every read, so each frame is copied into a slot of its own;
/// a slot's buffer is allocated once and reused, and a packet's decoded payload points into it
/// until the slot is processed. A live capture empties it whenever it has caught up with the
/// kernel, so no packet waits in it while the wire is quiet.
public final class PacketWindow {
    private struct Slot {
        var buffer: UnsafeMutableRawPointer
        var capacity: Int
        var length = 0
        var timestamp = Timestamp.zero
        var wireLength = 0
        var decoded: Result<TCPSegment, DecodeOutcome> = .failure(.notIP)
        var probe: Analyzer.FlowProbe?
    }

    /// A packet's probe is computed when it is read, `Analyzer.probeDistance` packets before it
    /// is processed; the later steps run at their distances from the oldest.
    static let size = Analyzer.probeDistance + 1

    /// Open connections from which reading ahead pays: with fewer, their state stays in the
    /// cache anyway, and copying every frame (a gigabyte for a data-heavy capture) would be
    /// the only effect.
    public static let worthwhileFrom = 2_048

    private var slots: [Slot]
    private var oldest = 0
    private(set) var count = 0

    init() {
        slots = (0..<Self.size).map { _ in Slot(buffer: .allocate(byteCount: 2048, alignment: 16), capacity: 2048) }
    }

    deinit {
        for s in slots { s.buffer.deallocate() }
    }

    var isFull: Bool { count == Self.size }

    /// Copies and decodes a packet, and asks for its index bucket.
    func push(_ packet: RawPacket, decoder: PacketDecoder, analyzer: Analyzer) {
        precondition(!isFull, "the window is processed before it overflows")
        let i = (oldest + count) % Self.size
        let n = packet.bytes.count
        if n > slots[i].capacity {
            slots[i].buffer.deallocate()
            slots[i].buffer = .allocate(byteCount: n, alignment: 16)
            slots[i].capacity = n
        }
        if n > 0 { slots[i].buffer.copyMemory(from: packet.bytes.baseAddress!, byteCount: n) }
        slots[i].length = n
        slots[i].timestamp = packet.timestamp
        slots[i].wireLength = packet.wireLength
        let decoded = decoder.decode(UnsafeRawBufferPointer(start: slots[i].buffer, count: n), as: packet.linkType)
        slots[i].decoded = decoded
        if case .success(let segment) = decoded { slots[i].probe = analyzer.probe(segment) } else { slots[i].probe = nil }
        count += 1
    }

    /// Processes the oldest packet, after the lookahead steps for the packets behind it.
    func processOldest(_ analyzer: Analyzer) {
        precondition(count > 0)
        analyzer.lookahead { d in count > d ? slots[(oldest + d) % Self.size].probe : nil }
        let s = slots[oldest]
        analyzer.process(RawPacket(timestamp: s.timestamp, wireLength: s.wireLength,
                                   bytes: UnsafeRawBufferPointer(start: s.buffer, count: s.length)),
                         decoded: s.decoded, probe: s.probe)
        oldest = (oldest + 1) % Self.size
        count -= 1
    }
}
