import PacketCapture

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
    /// The frames back to back, in storage the batch allocates itself: an array's append went
    /// through its uniqueness and capacity checks and the generic copy for every frame.
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private(set) var byteCount = 0
    var packets: [Packet] = []
    var sweeps: [Sweep] = []
    var isLast = false
    var finalClock = Timestamp.zero

    init() {
        capacity = ShardedAnalysis.batchBytes + 65_536
        storage = .allocate(byteCount: capacity, alignment: 64)
        packets.reserveCapacity(ShardedAnalysis.batchPackets)
    }

    deinit { storage.deallocate() }

    /// The frames, for the analyzer that reads this batch.
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage, count: byteCount))
    }

    /// Empty again, keeping its storage.
    func reset() {
        byteCount = 0
        packets.removeAll(keepingCapacity: true)
        sweeps.removeAll(keepingCapacity: true)
        isLast = false
    }

    func add(_ p: RawPacket, decoded: Result<TCPSegment, DecodeOutcome>, index: UInt64, clock: Timestamp) {
        var payloadOffset = 0
        if case .success(let s) = decoded, let base = p.bytes.baseAddress, let payload = s.payload.baseAddress {
            payloadOffset = payload - base
        }
        packets.append(Packet(offset: byteCount, length: p.bytes.count, wireLength: p.wireLength,
                              timestamp: p.timestamp, clock: clock, index: index, decoded: decoded,
                              payloadOffset: payloadOffset))
        let n = p.bytes.count
        if byteCount + n > capacity {
            // A frame larger than the room left (snap lengths reach 256 KiB): grow, rarely.
            let bigger = max(capacity * 2, byteCount + n)
            let moved = UnsafeMutableRawPointer.allocate(byteCount: bigger, alignment: 64)
            moved.copyMemory(from: storage, byteCount: byteCount)
            storage.deallocate()
            storage = moved
            capacity = bigger
        }
        if let src = p.bytes.baseAddress, n > 0 { (storage + byteCount).copyMemory(from: src, byteCount: n) }
        byteCount += n
    }
}
