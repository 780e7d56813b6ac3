import CPrefetch
import NetworkAddress

/// The key-to-slot map behind `FlowTable`: open addressing with linear probing and
/// backward-shift deletion, one 64-bit word per bucket (32 bits of the key's hash, the slot).
///
/// A `Dictionary` costs a seeded SipHash of four words and three cache misses (bitmap, keys,
/// values) per packet; here a probe touches one word, and the entry itself is read only when
/// the stored hash bits already match. The hash is still seeded per table, so a sender who
/// picks addresses and ports cannot aim for one bucket without knowing the seed.
///
/// The buckets are storage the index allocates itself (freed by `deallocate()`, which the
/// owning table calls once): an array's `withUnsafeBufferPointer` for the prefetch retained and
/// released the buffer on every packet.
struct FlowIndex {
    private var buckets: UnsafeMutablePointer<UInt64>
    private var size: Int
    private var mask: Int
    private(set) var count = 0
    private let seed: UInt64

    init(minimumCapacity: Int) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        self.size = size
        buckets = .allocate(capacity: size)
        buckets.initialize(repeating: 0, count: size)
        mask = size - 1
        seed = UInt64.random(in: .min ... .max) | 1
    }

    /// Frees the buckets; the index is not used afterwards.
    func deallocate() { buckets.deallocate() }

    @inline(__always)
    func hash(_ key: ConnectionKey) -> UInt32 {
        let (a, b, c, d) = key.words
        var h = seed
        h = murmurMix(h ^ a)
        h = murmurMix(h ^ b)
        h = murmurMix(h ^ c)
        h = murmurMix(h ^ d)
        return UInt32(truncatingIfNeeded: h >> 32)
    }

    /// Asks the cache for the bucket where a lookup of `h` starts.
    @inline(__always)
    func prefetch(hash h: UInt32) {
        ftpscope_prefetch(buckets + (Int(h) & mask))
    }

    /// The slot stored for `key`; `isKey` confirms a candidate slot holds it.
    @inline(__always)
    func find(_ key: ConnectionKey, hash h: UInt32, isKey: (Int) -> Bool) -> Int? {
        var i = Int(h) & mask
        while true {
            let b = buckets[i]
            if b == 0 { return nil }
            if UInt32(truncatingIfNeeded: b >> 32) == h {
                let slot = Int(truncatingIfNeeded: b & 0xFFFF_FFFF) - 1
                if isKey(slot) { return slot }
            }
            i = (i + 1) & mask
        }
    }

    mutating func insert(hash h: UInt32, slot: Int) {
        precondition(slot >= 0 && slot < Int(UInt32.max), "flow slot out of range")
        if (count + 1) * 2 > size { grow() }
        place(UInt64(h) << 32 | UInt64(slot + 1))
        count += 1
    }

    /// Removes the bucket that maps to `slot`.
    mutating func remove(hash h: UInt32, slot: Int) {
        let wanted = UInt64(h) << 32 | UInt64(slot + 1)
        var i = Int(h) & mask
        while buckets[i] != wanted {
            precondition(buckets[i] != 0, "removing a flow that is not in the index")
            i = (i + 1) & mask
        }
        // Backward shift: move later members of the probe run into the hole so lookups never
        // need tombstones.
        var hole = i
        var j = (i + 1) & mask
        while buckets[j] != 0 {
            let home = Int(truncatingIfNeeded: buckets[j] >> 32) & mask
            // Entry j may move to the hole only if its home is not cyclically within (hole, j].
            let stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j)
            if !stays {
                buckets[hole] = buckets[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        buckets[hole] = 0
        count -= 1
    }

    mutating func removeAll() {
        buckets.update(repeating: 0, count: size)
        count = 0
    }

    private mutating func place(_ word: UInt64) {
        var i = Int(truncatingIfNeeded: word >> 32) & mask
        while buckets[i] != 0 { i = (i + 1) & mask }
        buckets[i] = word
    }

    private mutating func grow() {
        let old = buckets, oldSize = size
        size *= 2
        buckets = .allocate(capacity: size)
        buckets.initialize(repeating: 0, count: size)
        mask = size - 1
        for i in 0..<oldSize where old[i] != 0 { place(old[i]) }
        old.deallocate()
    }
}
