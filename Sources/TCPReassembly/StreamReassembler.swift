import PacketCapture

/// What a reassembler hands its consumer, always in sequence order.
public enum StreamEvent {
    /// In-order bytes, borrowed for the duration of the callback.
    case data(UnsafeRawBufferPointer)
    /// Bytes that were sent but never captured; the consumer must resynchronise after them.
    case gap(Int)
}

/// When and in which frame a segment arrived: a segment held behind a hole that is later
/// given up was complete as far as the capture shows when it came, not when the
/// acknowledgment that gave up the hole did.
public struct Arrival: Sendable {
    public var timestamp: Timestamp
    public var frame: Int
    public init(_ timestamp: Timestamp, frame: Int) { self.timestamp = timestamp; self.frame = frame }
}

/// Counters a stream keeps for the summary.
public struct StreamStatistics: Sendable, Equatable {
    public var deliveredBytes = 0
    public var gapBytes = 0
    public var gaps = 0
    public var retransmittedBytes = 0
    public var outOfOrderSegments = 0
    /// Times the out-of-order buffer hit its cap and a hole was declared lost early.
    public var bufferCapHits = 0
    public init() {}
}

/// Reassembles one direction of a TCP connection.
///
/// Out-of-order segments are copied into a small sorted buffer with a byte cap; everything
/// in order is passed through without a copy. Overlaps keep the bytes seen first (what the
/// receiver most likely accepted). A hole is declared a gap when the peer acknowledges past
/// it (the receiver had the bytes, the capture did not), when the buffer cap is hit, or when
/// the stream is flushed.
public struct StreamReassembler {
    private enum State {
        case unsynchronized
        case synchronized(next: UInt32)
    }

    private struct PendingSegment {
        var sequence: UInt32
        var bytes: [UInt8]
        /// Bytes the snap length cut off right after `bytes`.
        var missingAfter: Int
        var arrival: Arrival?
    }

    private var state: State = .unsynchronized
    private var pending: [PendingSegment] = []
    private var pendingBytes = 0
    private var finSequence: UInt32?
    public let maxBufferedBytes: Int
    public private(set) var statistics = StreamStatistics()
    /// True when the first segment seen was not a SYN: the capture began mid-stream.
    public private(set) var startedMidstream = false
    /// Before this direction's first segment, how far the peer first said it had received.
    private var peerAcknowledged: UInt32?
    /// The furthest the peer said it had received. Before this direction's first segment, past
    /// `peerAcknowledged` it tells of bytes sent that the capture does not show (a capture of
    /// one direction only, as asymmetric routing or a tap on one fibre gives); after, past the
    /// last byte delivered, of a last segment the capture lost.
    private var peerAcknowledgedFurthest: UInt32?
    /// The last step of `peerAcknowledgedFurthest` was one sequence number: a FIN (no FTP line
    /// is one byte long), not counted as a byte lost.
    private var furthestStepWasFIN = false

    public init(maxBufferedBytes: Int = 1 << 20) {
        self.maxBufferedBytes = maxBufferedBytes
    }

    public var isSynchronized: Bool { if case .synchronized = state { true } else { false } }

    /// The stream has delivered everything up to its FIN.
    public var isFinished: Bool {
        guard case .synchronized(let next) = state, let fin = finSequence else { return false }
        return SequenceNumber.distance(from: fin, to: next) >= 0
    }

    public var bufferedBytes: Int { pendingBytes }

    /// Whether a SYN with sequence number `sequence` opens another connection than the one this
    /// stream follows: one sent again before any data has the number it had.
    public func isNewConnection(syn sequence: UInt32) -> Bool {
        guard case .synchronized(let next) = state else { return false }
        return SequenceNumber.advance(sequence, by: 1) != next
    }

    /// Whether the peer acknowledged bytes this stream has not delivered: they were sent, and
    /// the capture lost them or has not shown them yet.
    public func isBehind(acknowledged ack: UInt32) -> Bool {
        guard case .synchronized(let next) = state else {
            guard let first = peerAcknowledged else { return false }
            let ahead = SequenceNumber.distance(from: first, to: ack)
            return ahead > 0 && ahead < 1 << 30
        }
        var limit = ack
        // The FIN takes a sequence number of its own, which its acknowledgment covers.
        if let fin = finSequence, SequenceNumber.distance(from: fin, to: limit) > 0 { limit = fin }
        let ahead = SequenceNumber.distance(from: next, to: limit)
        return ahead > 0 && ahead < 1 << 30
    }

    /// Feeds one segment of this direction.
    public mutating func receive(sequence: UInt32, syn: Bool, fin: Bool, payload: UnsafeRawBufferPointer,
                                 missing: Int = 0, arrival: Arrival? = nil, _ deliver: (StreamEvent) -> Void) {
        var seq = sequence
        if syn {
            seq = SequenceNumber.advance(sequence, by: 1)
            if case .unsynchronized = state { state = .synchronized(next: seq) }
        }
        guard case .synchronized(var next) = state else {
            guard payload.count + missing > 0 || fin else { return }
            startedMidstream = true
            // The peer had acknowledged up to an earlier number: the bytes from there to this
            // segment were sent after it and the capture does not have them (a lost first
            // reply); they are a hole, not the stream's start.
            var start = seq
            if let a = peerAcknowledged, case let d = SequenceNumber.distance(from: a, to: seq), d > 0, d < 1 << 20 {
                start = a
            }
            state = .synchronized(next: start)
            return receive(sequence: seq, syn: false, fin: fin, payload: payload, missing: missing, arrival: arrival, deliver)
        }
        if fin { finSequence = SequenceNumber.advance(seq, by: payload.count + missing) }
        let length = payload.count + missing
        guard length > 0 else { return }

        let offset = SequenceNumber.distance(from: next, to: seq)
        if offset > 0 {
            // A segment from the future: keep a copy until the hole before it fills or is given up.
            if offset > 1 << 30 { return }  // Not plausibly this stream's window: ignore.
            statistics.outOfOrderSegments += 1
            if pendingBytes + payload.count > maxBufferedBytes {
                // Holding more would let one stream eat memory: give up on the holes now.
                statistics.bufferCapHits += 1
                state = .synchronized(next: next)
                flush(deliver)
                guard case .synchronized(var resumed) = state else { return }
                declareGap(upTo: seq, next: &resumed, deliver)
                state = .synchronized(next: resumed)
                return receive(sequence: seq, syn: false, fin: false, payload: payload, missing: missing, arrival: arrival, deliver)
            }
            insertPending(PendingSegment(sequence: seq, bytes: Array(payload), missingAfter: missing, arrival: arrival))
            // The peer had already acknowledged up to this segment before it came: the hole
            // before it was lost by the capture, and the segment is delivered now, at its own
            // time, rather than at the next acknowledgment.
            if let furthest = peerAcknowledgedFurthest, SequenceNumber.distance(from: seq, to: furthest) >= 0 {
                state = .synchronized(next: next)
                acknowledged(furthest, deliver)
            }
            return
        }
        let skip = -offset
        if skip >= length {
            statistics.retransmittedBytes += length
            return
        }
        if skip > 0 { statistics.retransmittedBytes += min(skip, payload.count) }
        if skip < payload.count {
            let fresh = UnsafeRawBufferPointer(rebasing: payload[skip...])
            statistics.deliveredBytes += fresh.count
            deliver(.data(fresh))
        }
        let missingNow = min(missing, length - skip)
        if missingNow > 0 {
            statistics.gaps += 1
            statistics.gapBytes += missingNow
            deliver(.gap(missingNow))
        }
        next = SequenceNumber.advance(next, by: length - skip)
        drain(next: &next, arrived: { _ in }, deliver)
        state = .synchronized(next: next)
    }

    /// The other direction acknowledged up to `ack`: any hole before it was lost by the capture.
    ///
    /// Only a hole with data (or the FIN, acknowledged) already waiting behind it is given up
    /// here: a capture that reorders an ACK before the data it acknowledges must not turn that
    /// data into a gap.
    /// A hole at the very end is declared on flush.
    ///
    /// `arrived` is told, before the gap and before each held segment's bytes, when the held
    /// segment came (if `receive` was given it): what follows is of that time and frame.
    public mutating func acknowledged(_ ack: UInt32, arrived: (Arrival) -> Void = { _ in },
                                      _ deliver: (StreamEvent) -> Void) {
        guard case .synchronized(var next) = state else {
            // The first acknowledgment marks a point in this stream the capture saw: what
            // follows it is all in the capture or lost from it.
            guard let first = peerAcknowledged else {
                peerAcknowledged = ack
                return
            }
            noteFurthest(ack, from: first)
            return
        }
        // Usually the peer acknowledges what was delivered or less: nothing to keep.
        if SequenceNumber.distance(from: next, to: ack) > 0 { noteFurthest(ack, from: next) }
        // A FIN waiting behind the hole is held like data: the peer acknowledging it had every
        // byte before it, so the hole was lost by the capture, and the stream can end now
        // instead of when the connection is swept as idle.
        let finAcknowledged = finSequence.map { SequenceNumber.distance(from: $0, to: ack) > 0 } ?? false
        guard !pending.isEmpty || finAcknowledged else { return }
        var limit = ack
        if let fin = finSequence, SequenceNumber.distance(from: fin, to: limit) > 0 { limit = fin }
        let ahead = SequenceNumber.distance(from: next, to: limit)
        guard ahead > 0, ahead < 1 << 30 else { return }
        if let a = pending.first?.arrival { arrived(a) }
        declareGap(upTo: limit, next: &next, deliver)
        drain(next: &next, arrived: arrived, deliver)
        state = .synchronized(next: next)
    }

    /// Delivers whatever is buffered, declaring the holes between as gaps. Used on close and
    /// eviction; `arrived` as for `acknowledged`.
    public mutating func flush(arrived: (Arrival) -> Void = { _ in }, _ deliver: (StreamEvent) -> Void) {
        guard case .synchronized(var next) = state else { return }
        while let first = pending.first {
            if let a = first.arrival { arrived(a) }
            declareGap(upTo: first.sequence, next: &next, deliver)
            drain(next: &next, arrived: arrived, deliver)
        }
        if let fin = finSequence { declareGap(upTo: fin, next: &next, deliver) }
        state = .synchronized(next: next)
    }

    /// Whether the capture showed no byte, SYN or FIN of this direction, yet the peer
    /// acknowledged bytes of it: the capture holds one direction of the connection only.
    public var acknowledgedButNeverSeen: Bool {
        if case .unsynchronized = state, peerAcknowledgedFurthest != nil { true } else { false }
    }

    /// The connection is over: flushes, then declares as a gap what the peer acknowledged past
    /// the last byte the capture showed (a last reply lost, or a direction never captured).
    ///
    /// Declared only at the end: a capture that puts an ACK before the data it acknowledges
    /// would otherwise turn that data into a gap. An acknowledgment that went one sequence
    /// number further than the one before it took in a FIN the capture did not show, not a
    /// byte; a FIN acknowledged together with bytes is counted as one of them.
    public mutating func end(arrived: (Arrival) -> Void = { _ in }, _ deliver: (StreamEvent) -> Void) {
        flush(arrived: arrived, deliver)
        guard var furthest = peerAcknowledgedFurthest, finSequence == nil else { return }
        if furthestStepWasFIN { furthest = SequenceNumber.advance(furthest, by: -1) }
        var next: UInt32
        // Right after bytes the capture showed, one more acknowledged is their FIN whatever
        // the step that took it in.
        var least = 1
        switch state {
        case .unsynchronized:
            guard let first = peerAcknowledged else { return }
            next = first
        case .synchronized(let n):
            next = n
            least = 2
        }
        let ahead = SequenceNumber.distance(from: next, to: furthest)
        guard ahead >= least, ahead < 1 << 30 else { return }
        declareGap(upTo: furthest, next: &next, deliver)
        state = .synchronized(next: next)
    }

    /// Kept for `end`: what the peer acknowledged beyond what this stream delivered.
    @inline(__always)
    private mutating func noteFurthest(_ ack: UInt32, from start: UInt32) {
        // From the furthest kept, unless the stream has since delivered past it.
        var base = start
        if let f = peerAcknowledgedFurthest, SequenceNumber.distance(from: start, to: f) > 0 { base = f }
        let step = SequenceNumber.distance(from: base, to: ack)
        if step > 0, step < 1 << 30 {
            peerAcknowledgedFurthest = ack
            furthestStepWasFIN = step == 1
        }
    }

    private mutating func declareGap(upTo target: UInt32, next: inout UInt32, _ deliver: (StreamEvent) -> Void) {
        // Never skip past data we hold.
        var end = target
        if let first = pending.first, SequenceNumber.distance(from: first.sequence, to: end) > 0 { end = first.sequence }
        let n = SequenceNumber.distance(from: next, to: end)
        guard n > 0 else { return }
        statistics.gaps += 1
        statistics.gapBytes += n
        deliver(.gap(n))
        next = end
    }

    private mutating func drain(next: inout UInt32, arrived: (Arrival) -> Void, _ deliver: (StreamEvent) -> Void) {
        while let first = pending.first, SequenceNumber.distance(from: next, to: first.sequence) <= 0 {
            pending.removeFirst()
            pendingBytes -= first.bytes.count
            let skip = SequenceNumber.distance(from: first.sequence, to: next)
            let length = first.bytes.count + first.missingAfter
            if skip >= length { statistics.retransmittedBytes += length; continue }
            if let a = first.arrival { arrived(a) }
            if skip > 0 { statistics.retransmittedBytes += min(skip, first.bytes.count) }
            if skip < first.bytes.count {
                first.bytes.withUnsafeBytes { raw in
                    let fresh = UnsafeRawBufferPointer(rebasing: raw[skip...])
                    statistics.deliveredBytes += fresh.count
                    deliver(.data(fresh))
                }
            }
            let missingNow = min(first.missingAfter, length - skip)
            if missingNow > 0 {
                statistics.gaps += 1
                statistics.gapBytes += missingNow
                deliver(.gap(missingNow))
            }
            next = SequenceNumber.advance(next, by: length - skip)
        }
    }

    private mutating func insertPending(_ segment: PendingSegment) {
        var i = pending.endIndex
        while i > pending.startIndex,
              SequenceNumber.distance(from: pending[i - 1].sequence, to: segment.sequence) < 0 {
            i -= 1
        }
        // An exact duplicate of a buffered segment adds nothing.
        if i > pending.startIndex, pending[i - 1].sequence == segment.sequence,
           pending[i - 1].bytes.count >= segment.bytes.count {
            statistics.retransmittedBytes += segment.bytes.count
            return
        }
        pending.insert(segment, at: i)
        pendingBytes += segment.bytes.count
    }
}
