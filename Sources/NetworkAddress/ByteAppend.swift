extension Array where Element == UInt8 {
    /// Appends raw bytes with one copy. `append(contentsOf:)` with an `UnsafeRawBufferPointer`
    /// takes the generic element-by-element path (a raw buffer offers no typed contiguous
    /// storage); profiles showed it at ~200 instructions per call for a few bytes.
    @inlinable
    public mutating func append(bytes raw: UnsafeRawBufferPointer) {
        guard let base = raw.baseAddress, raw.count > 0 else { return }
        append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: raw.count))
    }
}

extension Array where Element == UInt8 {
    /// A copy of raw bytes in one piece (see `append(bytes:)`).
    @inlinable
    public init(bytes raw: UnsafeRawBufferPointer) {
        guard let base = raw.baseAddress, raw.count > 0 else { self = []; return }
        self.init(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: raw.count))
    }
}
