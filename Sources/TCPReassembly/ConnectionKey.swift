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

    /// The key as four machine words: what hashing reads, instead of the enums field by field.
    @inline(__always)
    var words: (UInt64, UInt64, UInt64, UInt64) {
        @inline(__always) func words(_ e: Endpoint) -> (UInt64, UInt64) {
            switch e.address {
            case .v4(let a): return (UInt64(a) << 16 | UInt64(e.port), 0)
            case .v6(let hi, let lo): return (hi ^ UInt64(e.port) << 48 ^ 1, lo)
            }
        }
        let (a, b) = words(low), (c, d) = words(high)
        return (a, b, c, d)
    }

    public func hash(into h: inout Hasher) {
        let (a, b, c, d) = words
        h.combine(a); h.combine(b); h.combine(c); h.combine(d)
    }
}
