/// TCP sequence arithmetic modulo 2^32 (RFC 793 §3.3): comparisons are by signed distance,
/// so a stream that wraps past 0xFFFFFFFF stays in order.
public enum SequenceNumber {
    /// Signed distance from `from` to `to`.
    @inline(__always)
    public static func distance(from: UInt32, to: UInt32) -> Int {
        Int(Int32(bitPattern: to &- from))
    }

    @inline(__always)
    public static func advance(_ s: UInt32, by n: Int) -> UInt32 { s &+ UInt32(truncatingIfNeeded: n) }
}
