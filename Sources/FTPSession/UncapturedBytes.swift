import TCPReassembly

/// The bytes of one direction of a data connection that the capture did not show, between
/// the first and the highest it did: what Zeek's files.log calls `missing_bytes`, and
/// Wireshark marks "previous segment not captured". A segment that starts past the highest
/// byte opens a hole, a segment cut by the snap length leaves one, and a segment later in the
/// capture (a retransmission it did see) fills what it covers. Counted without putting the
/// stream in order: a data packet in order costs one comparison here.
struct UncapturedBytes {
    private struct Hole {
        var start: UInt32
        var length: Int
    }
    /// In the order they opened, which is the order of their places in the stream.
    private var holes: [Hole] = []
    /// All holes' bytes, those no longer tracked (beyond `maxHoles`) included: they are
    /// counted as never filled. Kept as they change, so that reading it costs nothing.
    private(set) var count = 0

    /// A capture that lost every other packet would otherwise keep a hole per packet; a
    /// retransmission that fills a hole older than this many is rare.
    static let maxHoles = 64

    /// The capture skipped `length` bytes from `start` (a segment beyond the highest byte, or
    /// the part of a segment the snap length cut).
    mutating func skipped(from start: UInt32, length: Int) {
        guard length > 0 else { return }
        if let last = holes.last, SequenceNumber.advance(last.start, by: last.length) == start {
            holes[holes.count - 1].length += length
        } else {
            holes.append(Hole(start: start, length: length))
            forgetOldest()
        }
        count += length
    }

    /// The capture showed `length` bytes from `start` behind the highest byte: whatever of a
    /// hole they cover is no longer missing.
    mutating func shown(from start: UInt32, length: Int) {
        guard !holes.isEmpty, length > 0 else { return }
        var i = 0
        while i < holes.count {
            let hole = holes[i]
            // Both ends as distances from the hole's start: sequence numbers wrap.
            let from = max(0, SequenceNumber.distance(from: hole.start, to: start))
            let to = min(hole.length, SequenceNumber.distance(from: hole.start, to: start) + length)
            guard from < to else { i += 1; continue }
            count -= to - from
            let after = Hole(start: SequenceNumber.advance(hole.start, by: to), length: hole.length - to)
            if from > 0 {
                holes[i].length = from
                if after.length > 0 {
                    holes.insert(after, at: i + 1)
                    i += 1
                    if holes.count > Self.maxHoles { holes.removeFirst(); i -= 1 }
                }
            } else if after.length > 0 {
                holes[i] = after
            } else {
                holes.remove(at: i)
                continue
            }
            i += 1
        }
    }

    private mutating func forgetOldest() {
        if holes.count > Self.maxHoles { holes.removeFirst() }
    }
}
