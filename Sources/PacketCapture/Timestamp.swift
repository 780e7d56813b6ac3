/// Capture time in nanoseconds since the Unix epoch; nanosecond pcap files keep full precision.
public struct Timestamp: Hashable, Comparable, Sendable {
    public var nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public init(seconds: Int64, nanoseconds: Int64) { self.nanoseconds = seconds &* 1_000_000_000 &+ nanoseconds }
    public static let zero = Timestamp(nanoseconds: 0)
    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public static func < (l: Timestamp, r: Timestamp) -> Bool { l.nanoseconds < r.nanoseconds }
    /// Milliseconds from `earlier` to `self`.
    public func milliseconds(since earlier: Timestamp) -> Double { Double(nanoseconds - earlier.nanoseconds) / 1e6 }
}
