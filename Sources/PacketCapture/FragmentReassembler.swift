import DequeModule

/// Where the decoder found a fragment in its frame: enough for `FragmentReassembler` to read
/// it without walking the headers again. Offsets into the frame, held small so that a decode
/// result stays the size it was.
public struct FragmentSite: Sendable, Equatable {
    /// The fragmented IP header.
    let ipHeader: Int32
    /// IPv4: the flags and offset word; IPv6: the fragment extension header.
    let fragmentHeader: Int32
    /// The fragment's data, and where the IP length says it ends (the capture may keep less).
    let payload: Int32
    let end: Int32
    /// Tunnel layers above the fragmented header.
    let depth: UInt8

    init(ipHeader: Int, fragmentHeader: Int, payload: Int, end: Int, depth: Int) {
        self.ipHeader = Int32(clamping: ipHeader); self.fragmentHeader = Int32(clamping: fragmentHeader)
        self.payload = Int32(clamping: payload); self.end = Int32(clamping: end)
        self.depth = UInt8(clamping: depth)
    }
}

/// Puts fragmented IP datagrams back together, as the receiving host did, so that what a path
/// MTU split is analyzed whole: mirrored traffic in VXLAN over a 1,500-byte underlay arrives
/// with every full-size packet in two fragments. One per input, on the thread that decodes:
/// only a first fragment carries the TCP header, so which connection (and which analyzer) a
/// datagram belongs to is known only once it is whole.
///
/// Bounded like the kernel's queue: a datagram waits at most `timeout` of capture time, at
/// most `maxDatagrams` wait at once and `maxBytes` of data in all, and what is given up is
/// counted, never analyzed in part. Overlapping fragments keep the bytes that came first, as
/// Wireshark and Zeek do; a disagreement is counted, since it is how evasion tools hide a
/// payload.
public final class FragmentReassembler {
    public struct Counts: Sendable, Equatable {
        /// Fragments read, those of datagrams inside reassembled ones included.
        public var fragments = 0
        /// Datagrams put together and handed on.
        public var datagrams = 0
        /// Fragments of datagrams never completed: timed out, pushed out by the bounds, too
        /// long for IP, or still waiting at the end of the input.
        public var unreassembled = 0
        /// Fragments whose bytes disagreed with those already held for the same place, or
        /// which stated a different end of their datagram.
        public var conflicts = 0
        /// Bytes the handed-on datagrams hold beyond the frames they replace.
        public var addedBytes = 0
        public init() {}
    }

    public static let timeoutNanoseconds: Int64 = 30_000_000_000  // Linux's ipfrag_time
    public static let maxDatagrams = 1_024
    public static let maxBytes = 16 << 20

    public private(set) var counts = Counts()

    private struct Key: Hashable {
        var source: IPAddress
        var destination: IPAddress
        var id: UInt32
        /// IPv4 keys by protocol too (RFC 791); IPv6 has none in the key (RFC 8200).
        var proto: UInt8
    }

    private struct Datagram {
        /// The IP header the datagram is handed on with, from its first fragment.
        var header: [UInt8] = []
        /// The fragmentable part, each fragment at its offset.
        var data: [UInt8] = []
        /// The parts of `data` captured: sorted, neither overlapping nor touching.
        var covered: [Range<Int>] = []
        /// The parts the fragments received say they carry, captured or not: a fragment the
        /// snap length cut has arrived, and its datagram is handed on cut, as a whole packet
        /// cut by the snap length would be.
        var arrived: [Range<Int>] = []
        /// Known once the last fragment is in.
        var total: Int?
        var fragments = 0
        var started: Timestamp
        /// Which arrival this is, to tell it from a later datagram of the same key.
        var serial: UInt64
    }

    private var waiting: [Key: Datagram] = [:]
    /// Datagrams in the order their first fragment came, oldest first: what the bounds and the
    /// timeout give up, found without a scan (entries of datagrams already gone are skipped).
    private var arrivals = Deque<(key: Key, serial: UInt64)>()
    private var nextSerial: UInt64 = 0
    private var waitingBytes = 0
    private var lastSweep = Timestamp.zero
    /// The last datagram handed on; the packet returned points into it until the next call.
    private var output: UnsafeMutableRawPointer
    private var outputCapacity = 65_536 + 64

    public init() {
        output = .allocate(byteCount: outputCapacity, alignment: 16)
    }

    deinit { output.deallocate() }

    /// The frame the analysis is to see. Anything but a fragment passes unchanged; a fragment
    /// that completes its datagram is replaced by the datagram, decoded (its bytes valid until
    /// the next call); any other fragment is held and stays `.ipFragment`.
    @inline(__always)
    public func resolve(_ packet: inout RawPacket, _ decoded: inout Result<TCPSegment, DecodeOutcome>,
                        decoder: PacketDecoder) {
        if case .failure(.ipFragment(let site)) = decoded { reassemble(&packet, &decoded, site, decoder) }
    }

    /// Gives up every datagram still waiting: the input ended.
    public func finish() {
        for d in waiting.values { counts.unreassembled += d.fragments }
        waiting.removeAll()
        arrivals.removeAll()
        waitingBytes = 0
    }

    @inline(never)
    private func reassemble(_ packet: inout RawPacket, _ decoded: inout Result<TCPSegment, DecodeOutcome>,
                            _ first: FragmentSite, _ decoder: PacketDecoder) {
        let frameBytes = packet.bytes.count
        var site = first
        // A datagram may itself hold a fragment of an inner one; each round goes a layer down,
        // and the decoder's tunnel depth bounds the rounds.
        while true {
            counts.fragments += 1
            guard let length = add(packet.bytes, site, at: packet.timestamp) else { return }
            counts.datagrams += 1
            let bytes = UnsafeRawBufferPointer(start: output, count: length)
            // Cut short only if the frame it replaces was: the summary counts cut frames.
            packet = RawPacket(timestamp: packet.timestamp, wireLength: length + packet.wireLength - packet.bytes.count,
                               bytes: bytes)
            decoded = decoder.decodeDatagram(bytes, depth: Int(site.depth))
            guard case .failure(.ipFragment(let inner)) = decoded else { break }
            site = inner
        }
        counts.addedBytes += packet.bytes.count - frameBytes
    }

    /// Files one fragment; the length of the datagram now in `output` if it completed one.
    private func add(_ f: UnsafeRawBufferPointer, _ site: FragmentSite, at now: Timestamp) -> Int? {
        sweep(now)
        let ip = Int(site.ipHeader), fh = Int(site.fragmentHeader)
        let payload = Int(site.payload), declaredEnd = Int(site.end)
        // What the snap length kept of the fragment's data.
        let end = min(declaredEnd, f.count)
        guard payload <= end else { counts.unreassembled += 1; return nil }
        let v6 = f[ip] >> 4 == 6
        let key: Key, offset: Int, more: Bool
        if v6 {
            let word = f.be16(fh + 2)
            offset = Int(word & 0xFFF8); more = word & 1 != 0
            key = Key(source: .v6(f.be64(ip + 8), f.be64(ip + 16)), destination: .v6(f.be64(ip + 24), f.be64(ip + 32)),
                      id: f.be32(fh + 4), proto: 0)
        } else {
            let word = f.be16(fh)
            offset = Int(word & 0x1FFF) * 8; more = word & 0x2000 != 0
            key = Key(source: .v4(f.be32(ip + 12)), destination: .v4(f.be32(ip + 16)),
                      id: UInt32(f.be16(ip + 4)), proto: f[ip + 9])
        }
        let headerLength = v6 ? 40 : payload - ip
        let fragmentEnd = offset + (declaredEnd - payload)
        // Its length field could not state the datagram (the "ping of death").
        guard headerLength + fragmentEnd <= 65_535 + (v6 ? 40 : 0) else { counts.unreassembled += 1; return nil }

        var d: Datagram
        if let held = waiting.removeValue(forKey: key) { d = held } else {
            d = Datagram(started: now, serial: nextSerial)
            arrivals.append((key, nextSerial))
            nextSerial += 1
            // Completed datagrams leave their entries behind: keep the queue near the live count.
            if arrivals.count > 2 * waiting.count + 1_024 {
                let new = d.serial
                arrivals.removeAll { waiting[$0.key]?.serial != $0.serial && $0.serial != new }
            }
        }
        let before = d.data.count
        d.fragments += 1
        if !more {
            if let total = d.total, total != fragmentEnd { counts.conflicts += 1 } else { d.total = fragmentEnd }
        }
        if offset == 0 && d.header.isEmpty {
            d.header = Array(UnsafeRawBufferPointer(rebasing: f[ip..<(ip + headerLength)]))
            // The fragmentable part starts with the fragment header's next header.
            if v6 { d.header[6] = f[fh] }
        }
        if store(f, from: payload, count: end - payload, at: offset, in: &d) { counts.conflicts += 1 }
        if fragmentEnd > offset { Self.insert(offset..<fragmentEnd, into: &d.arrived) }
        waitingBytes += d.data.count - before

        if let total = d.total, !d.header.isEmpty, d.arrived.count == 1, d.arrived[0] == 0..<total {
            waitingBytes -= d.data.count
            return build(d, total: total, v6: v6)
        }
        waiting[key] = d
        while waiting.count > Self.maxDatagrams || waitingBytes > Self.maxBytes { dropOldest() }
        return nil
    }

    /// Copies what of the fragment is not held yet; whether a held part disagreed.
    private func store(_ f: UnsafeRawBufferPointer, from start: Int, count: Int, at offset: Int,
                       in d: inout Datagram) -> Bool {
        let lo = offset, hi = offset + count
        guard hi > lo else { return false }
        if d.data.count < hi { d.data.append(contentsOf: repeatElement(0, count: hi - d.data.count)) }
        var conflict = false
        var cursor = lo
        d.data.withUnsafeMutableBytes { data in
            func copy(_ a: Int, _ b: Int) {
                guard b > a else { return }
                data.baseAddress!.advanced(by: a).copyMemory(from: f.baseAddress! + start + (a - lo), byteCount: b - a)
            }
            for r in d.covered where r.upperBound > lo && r.lowerBound < hi {
                copy(cursor, r.lowerBound)
                let a = max(lo, r.lowerBound), b = min(hi, r.upperBound)
                if memcmp(data.baseAddress! + a, f.baseAddress! + start + (a - lo), b - a) != 0 { conflict = true }
                cursor = max(cursor, b)
            }
            copy(cursor, hi)
        }
        Self.insert(lo..<hi, into: &d.covered)
        return conflict
    }

    /// Adds a range to a sorted list of disjoint ones, merging what it overlaps or touches.
    private static func insert(_ new: Range<Int>, into list: inout [Range<Int>]) {
        var merged = new
        var kept: [Range<Int>] = []
        kept.reserveCapacity(list.count + 1)
        var placed = false
        for r in list {
            if r.upperBound < merged.lowerBound { kept.append(r) }
            else if r.lowerBound > merged.upperBound {
                if !placed { kept.append(merged); placed = true }
                kept.append(r)
            } else {
                merged = min(r.lowerBound, merged.lowerBound)..<max(r.upperBound, merged.upperBound)
            }
        }
        if !placed { kept.append(merged) }
        list = kept
    }

    /// Writes the datagram to `output`: the first fragment's header, its length fields stating
    /// the datagram and its fragment fields cleared, then the data as far as it was captured
    /// without a hole (the decoder takes what the length states beyond it as cut off).
    private func build(_ d: Datagram, total: Int, v6: Bool) -> Int {
        let captured = d.covered.first.map { $0.lowerBound == 0 ? $0.upperBound : 0 } ?? 0
        let length = d.header.count + captured
        let stated = d.header.count + total
        if length > outputCapacity {
            output.deallocate()
            outputCapacity = length
            output = .allocate(byteCount: length, alignment: 16)
        }
        d.header.withUnsafeBytes { output.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        let h = output.assumingMemoryBound(to: UInt8.self)
        if v6 {
            h[4] = UInt8(truncatingIfNeeded: total >> 8); h[5] = UInt8(truncatingIfNeeded: total)
        } else {
            h[2] = UInt8(truncatingIfNeeded: stated >> 8); h[3] = UInt8(truncatingIfNeeded: stated)
            h[6] = 0; h[7] = 0
        }
        d.data.withUnsafeBytes { (output + d.header.count).copyMemory(from: $0.baseAddress!, byteCount: captured) }
        return length
    }

    /// Gives up datagrams that waited longer than the kernel would have; once a second of
    /// capture time at most.
    private func sweep(_ now: Timestamp) {
        guard now.nanoseconds - lastSweep.nanoseconds >= 1_000_000_000 else { return }
        lastSweep = now
        while let oldest = oldestWaiting(), now.nanoseconds - oldest.started.nanoseconds > Self.timeoutNanoseconds {
            dropOldest()
        }
    }

    /// The datagram waiting longest, the queue's stale entries before it dropped.
    private func oldestWaiting() -> Datagram? {
        while let first = arrivals.first {
            if let d = waiting[first.key], d.serial == first.serial { return d }
            arrivals.removeFirst()
        }
        return nil
    }

    private func dropOldest() {
        guard oldestWaiting() != nil, let first = arrivals.popFirst() else { return }
        give(up: first.key)
    }

    private func give(up key: Key) {
        guard let d = waiting.removeValue(forKey: key) else { return }
        counts.unreassembled += d.fragments
        waitingBytes -= d.data.count
    }
}

#if canImport(Glibc)
import Glibc
#endif
