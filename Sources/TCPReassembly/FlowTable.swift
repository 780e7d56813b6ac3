import CPrefetch
import DequeModule
import PacketCapture

/// A bounded table of connections keyed by `ConnectionKey`.
///
/// The cap is what keeps a SYN flood from growing memory without bound: when the table is
/// full the oldest entry goes, except that entries the caller marks as worth keeping and that
/// were seen recently get a second chance (a CLOCK sweep), so a flood cannot flush a live FTP
/// session out of the table cheaply.
///
/// A class: it is one large mutable table that is never meant to be copied, and reaching a
/// struct table through its owner's stored property made each lookup retain and release
/// all four of its arrays. The entries live in storage the table allocates itself, for the
/// same reason: every lookup through an array's buffer pointer retained and released the
/// array, two atomic operations per lookup and three lookups per packet.
public final class FlowTable<Value> {
    public struct Entry {
        public let key: ConnectionKey
        public var value: Value
        public var lastSeen: Timestamp
        /// The caller's creation label (the index of the packet that created the entry): it
        /// orders entries last seen at the same instant, so expiry order is reproducible.
        public let serial: UInt64
        fileprivate var generation: UInt32
        fileprivate var hash: UInt32
    }

    private var index: FlowIndex
    /// Slots `0..<slotCount` are initialized (nil when free); `allocated` is the room.
    private var slots: UnsafeMutablePointer<Entry?>
    private var allocated: Int
    public private(set) var slotCount = 0
    private var free: [Int] = []
    private var order: Deque<(slot: Int, generation: UInt32)> = []
    private var nextGeneration: UInt32 = 0
    public let capacity: Int
    public private(set) var evictions = 0
    public private(set) var peakCount = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "a flow table needs room for at least one connection")
        self.capacity = capacity
        index = FlowIndex(minimumCapacity: min(capacity, 1 << 16))
        allocated = min(capacity, 1024)
        slots = .allocate(capacity: allocated)
    }

    deinit {
        slots.deinitialize(count: slotCount)
        slots.deallocate()
        index.deallocate()
    }

    public var count: Int { index.count }

    /// A key with its hash: computed once per packet and used by every step that looks it up
    /// (lookahead and lookup).
    public struct Probe {
        public let key: ConnectionKey
        fileprivate let hash: UInt32
    }

    @inline(__always)
    public func probe(_ key: ConnectionKey) -> Probe { Probe(key: key, hash: index.hash(key)) }

    @inline(__always)
    public func slot(of key: ConnectionKey) -> Int? { slot(of: probe(key)) }

    @inline(__always)
    public func slot(of p: Probe) -> Int? {
        index.find(p.key, hash: p.hash) { slots[$0]?.key == p.key }
    }

    /// Lookahead for a key a few packets ahead, in steps so that each reads only what the step
    /// before brought into the cache: `.bucket` asks for the index word, `.entry` (later) reads
    /// it and asks for the entry; after that, `hintedValue(_:)` reads the entry from the cache.
    public enum Lookahead { case bucket, entry }

    /// Prefetches for `p`.
    @inline(__always)
    public func prefetch(_ p: Probe, _ step: Lookahead) {
        switch step {
        case .bucket:
            index.prefetch(hash: p.hash)
        case .entry:
            guard let slot = hintedSlot(p) else { return }
            // An entry is wider than a cache line's remainder more often than not.
            let start = UnsafeRawPointer(slots + slot)
            ftpscope_prefetch(start)
            ftpscope_prefetch(start + (MemoryLayout<Entry?>.size - 1))
        }
    }

    /// The value the stored hash bits point `p` to, for lookahead steps after `.entry` (whose
    /// prefetch made the entry a cache hit).
    @inline(__always)
    public func hintedValue(_ p: Probe) -> Value? {
        guard let slot = hintedSlot(p) else { return nil }
        return slots[slot]?.value
    }

    /// The slot whose stored hash bits match `p`, without reading an entry: no key comparison,
    /// so a stale match only yields a wrong hint, never a wrong answer to a lookup.
    @inline(__always)
    private func hintedSlot(_ p: Probe) -> Int? {
        guard let slot = index.find(p.key, hash: p.hash, isKey: { _ in true }), slot < slotCount else { return nil }
        return slot
    }

    public subscript(slot: Int) -> Entry {
        get { slots[slot]! }
        _modify { yield &slots[slot]! }
    }

    /// Inserts a new connection; if the table is full, first evicts one and passes it to `evicted`.
    public func insert(_ key: ConnectionKey, _ value: Value, at now: Timestamp, serial: UInt64 = 0,
                                keep: (Value) -> Bool, evicted: (Entry) -> Void) -> Int {
        if index.count >= capacity { evictOne(now: now, keep: keep, evicted: evicted) }
        let generation = nextGeneration
        nextGeneration &+= 1
        let hash = index.hash(key)
        let entry = Entry(key: key, value: value, lastSeen: now, serial: serial, generation: generation, hash: hash)
        let slot: Int
        if let s = free.popLast() {
            slots[s] = entry
            slot = s
        } else {
            if slotCount == allocated { grow() }
            (slots + slotCount).initialize(to: entry)
            slot = slotCount
            slotCount += 1
        }
        index.insert(hash: hash, slot: slot)
        order.append((slot, generation))
        peakCount = max(peakCount, index.count)
        return slot
    }

    @discardableResult
    public func remove(slot: Int) -> Entry {
        let entry = slots[slot]!
        slots[slot] = nil
        index.remove(hash: entry.hash, slot: slot)
        free.append(slot)
        compactOrderIfSparse()
        return entry
    }

    /// Removes every entry not seen since `cutoff`, oldest first. `lastActive` may tell of an
    /// entry's activity elsewhere (an FTP session's transfer on another connection): one active
    /// since `cutoff` stays, seen then.
    public func expire(before cutoff: Timestamp, lastActive: (Value) -> Timestamp? = { _ in nil }, _ expired: (Entry) -> Void) {
        var victims: [Int] = []
        for i in 0..<slotCount {
            guard let e = slots[i], e.lastSeen < cutoff else { continue }
            if let t = lastActive(e.value), t >= cutoff {
                slots[i]!.lastSeen = t
                continue
            }
            victims.append(i)
        }
        victims.sort {
            let a = slots[$0]!, b = slots[$1]!
            return (a.lastSeen, a.serial) < (b.lastSeen, b.serial)
        }
        for v in victims { expired(remove(slot: v)) }
    }

    /// Removes everything, oldest first (end of input).
    public func drain(_ body: (Entry) -> Void) {
        expire(before: Timestamp(nanoseconds: .max), body)
    }

    private func evictOne(now: Timestamp, keep: (Value) -> Bool, evicted: (Entry) -> Void) {
        var secondChances = 0
        while let (slot, generation) = order.popFirst() {
            guard let entry = slots[slot], entry.generation == generation else { continue }
            // A kept entry seen in the last minute goes to the back once per sweep.
            if secondChances < 64, keep(entry.value),
               now.nanoseconds - entry.lastSeen.nanoseconds < 60_000_000_000 {
                secondChances += 1
                order.append((slot, generation))
                continue
            }
            evictions += 1
            evicted(remove(slot: slot))
            return
        }
    }

    private func grow() {
        let bigger = UnsafeMutablePointer<Entry?>.allocate(capacity: allocated * 2)
        bigger.moveInitialize(from: slots, count: slotCount)
        slots.deallocate()
        slots = bigger
        allocated *= 2
    }

    private func compactOrderIfSparse() {
        // Removed entries leave stale order records; drop them when they dominate.
        guard order.count > 1024, order.count > 4 * index.count else { return }
        order = Deque(order.filter { slots[$0.slot]?.generation == $0.generation })
    }
}
