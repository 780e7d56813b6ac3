import FTPSession
import PacketCapture

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

/// An idle sweep a single analyzer would run before the packet with this index.
struct Sweep {
    var index: UInt64
    var now: Timestamp
}
