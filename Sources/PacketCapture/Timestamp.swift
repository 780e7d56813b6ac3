/// Capture time in nanoseconds since the Unix epoch; nanosecond pcap files keep full precision.
public struct Timestamp: Hashable, Comparable, Sendable {
    public var nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    /// A capture's time: kept within `captureRange`, since a corrupt or hostile pcapng can state
    /// any 64-bit time, and wrapped products became arbitrary times whose differences
    /// (latencies, durations, idle checks) overflowed.
    public init(seconds: Int64, nanoseconds: Int64) {
        let (whole, o1) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (ns, o2) = whole.addingReportingOverflow(nanoseconds)
        let r = Self.captureRange
        self.nanoseconds = o1 || o2 ? (seconds < 0 ? r.lowerBound : r.upperBound) : min(max(ns, r.lowerBound), r.upperBound)
    }

    /// ±(2^62 − 1) ns around the epoch, 1823 to 2116: every classic pcap time (32-bit seconds)
    /// fits, and the difference of any two fits in 64 bits.
    public static let captureRange: ClosedRange<Int64> = -((1 << 62) - 1)...((1 << 62) - 1)
    public static let zero = Timestamp(nanoseconds: 0)
    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public static func < (l: Timestamp, r: Timestamp) -> Bool { l.nanoseconds < r.nanoseconds }
    /// Milliseconds from `earlier` to `self`.
    public func milliseconds(since earlier: Timestamp) -> Double { Double(nanoseconds - earlier.nanoseconds) / 1e6 }
}
