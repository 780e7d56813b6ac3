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
