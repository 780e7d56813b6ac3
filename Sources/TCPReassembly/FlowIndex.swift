import CPrefetch
import NetworkAddress

/// The key-to-slot map behind `FlowTable`: open addressing with linear probing and
/// backward-shift deletion, one 64-bit word per bucket (32 bits of the key's hash, the slot).
///
/// A `Dictionary` costs a seeded SipHash of four words and three cache misses (bitmap, keys,
/// values) per packet; here a probe touches one word, and the entry itself is read only when
/// the stored hash bits already match. The hash is still seeded per table, so a sender who
/// picks addresses and ports cannot aim for one bucket without knowing the seed.
struct FlowIndex {
    private var buckets: [UInt64]
    private var mask: Int
    private(set) var count = 0
    private let seed: UInt64

    init(minimumCapacity: Int) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        buckets = [UInt64](repeating: 0, count: size)
        mask = size - 1
        seed = UInt64.random(in: .min ... .max) | 1
    }

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
        buckets.withUnsafeBufferPointer { ftpscope_prefetch($0.baseAddress! + (Int(h) & mask)) }
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
        if (count + 1) * 2 > buckets.count { grow() }
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
        for i in buckets.indices { buckets[i] = 0 }
        count = 0
    }

    private mutating func place(_ word: UInt64) {
        var i = Int(truncatingIfNeeded: word >> 32) & mask
        while buckets[i] != 0 { i = (i + 1) & mask }
        buckets[i] = word
    }

    private mutating func grow() {
        let old = buckets
        buckets = [UInt64](repeating: 0, count: old.count * 2)
        mask = buckets.count - 1
        for w in old where w != 0 { place(w) }
    }
}
