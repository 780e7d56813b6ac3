import PacketCapture

/// Identifies a TCP connection regardless of direction: the lower endpoint comes first.
public struct ConnectionKey: Hashable, Sendable {
    public let low: Endpoint
    public let high: Endpoint

    /// The key of the connection a segment from `source` to `destination` belongs to,
    /// and whether that segment travels from `low` to `high`.
    @inline(__always)
    public static func of(source: Endpoint, destination: Endpoint) -> (key: ConnectionKey, fromLow: Bool) {
        if source < destination {
            return (ConnectionKey(low: source, high: destination), true)
        }
        return (ConnectionKey(low: destination, high: source), false)
    }

    public init(low: Endpoint, high: Endpoint) { self.low = low; self.high = high }
}
