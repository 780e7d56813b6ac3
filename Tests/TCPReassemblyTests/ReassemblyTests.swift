import PacketCapture
import TCPReassembly
import Testing

private struct Collector {
    var r: StreamReassembler
    var data: [UInt8] = []
    var gaps: [Int] = []
    init(cap: Int = 1 << 20) { r = StreamReassembler(maxBufferedBytes: cap) }
    mutating func seg(_ seq: UInt32, _ s: String, syn: Bool = false, fin: Bool = false) {
        var d = data, g = gaps
        Array(s.utf8).withUnsafeBytes { raw in
            r.receive(sequence: seq, syn: syn, fin: fin, payload: raw) { e in
                switch e { case .data(let b): d += b; case .gap(let n): g.append(n) }
            }
        }
        data = d; gaps = g
    }
    mutating func ack(_ a: UInt32) {
        var d = data, g = gaps
        r.acknowledged(a) { e in switch e { case .data(let b): d += b; case .gap(let n): g.append(n) } }
        data = d; gaps = g
    }
    mutating func end() {
        var d = data, g = gaps
        r.end { e in switch e { case .data(let b): d += b; case .gap(let n): g.append(n) } }
        data = d; gaps = g
    }
    mutating func flush() {
        var d = data, g = gaps
        r.flush { e in switch e { case .data(let b): d += b; case .gap(let n): g.append(n) } }
        data = d; gaps = g
    }
    var text: String { String(decoding: data, as: UTF8.self) }
}

@Suite struct ReassemblyTests {
    @Test func inOrderOutOfOrderRetransmittedOverlapping() {
        var c = Collector()
        c.seg(99, "", syn: true)
        c.seg(100, "abc")
        c.seg(106, "ghi")        // out of order
        c.seg(100, "abc")        // exact retransmission
        c.seg(102, "cdef")       // overlap, new tail fills the hole
        #expect(c.text == "abcdefghi")
        #expect(c.gaps.isEmpty)
        #expect(c.r.statistics.retransmittedBytes == 4)
    }

    @Test func wrapAround() {
        var c = Collector()
        c.seg(0xFFFF_FFFD, "", syn: true)
        c.seg(0xFFFF_FFFE, "ab")
        c.seg(0x0000_0002, "ef")
        c.seg(0x0000_0000, "cd")
        #expect(c.text == "abcdef")
    }

    @Test func holeIsAGapOnceDataWaitsBehindItAndThePeerAcksPastIt() {
        var c = Collector()
        c.seg(0, "", syn: true)
        c.seg(1, "abc")
        c.seg(10, "xyz")
        c.ack(5)                 // the receiver had byte 4: lost by the capture
        #expect(c.gaps == [1])
        c.ack(13)                // and everything up to the waiting data
        #expect(c.gaps == [1, 5])
        #expect(c.text == "abcxyz")
    }

    @Test func ackPastTheHoleReleasesWaitingData() {
        var c = Collector()
        c.seg(0, "", syn: true)
        c.seg(1, "abc")
        c.seg(10, "xyz")
        c.ack(13)
        #expect(c.gaps == [6])
        #expect(c.text == "abcxyz")
    }

    @Test func ackWithNothingBufferedIsNotAGapYet() {
        var c = Collector()
        c.seg(0, "", syn: true)
        c.seg(1, "abc")
        c.ack(10)
        #expect(c.gaps.isEmpty)
        c.seg(4, "defghi")
        #expect(c.text == "abcdefghi")
    }

    /// The last bytes before a FIN lost: the peer acknowledging the FIN had them, so the hole
    /// is a gap then and the stream ends there; an ACK short of the FIN says nothing yet.
    @Test func aHoleBeforeAnAcknowledgedFINIsAGapAndTheStreamEnds() {
        var c = Collector()
        c.seg(0, "", syn: true)
        c.seg(1, "abc")
        c.seg(10, "", fin: true)  // bytes 4 to 9 never captured
        c.ack(10)
        #expect(c.gaps.isEmpty && !c.r.isFinished)
        c.ack(11)
        #expect(c.gaps == [6] && c.r.isFinished)
        #expect(c.text == "abc")
    }

    @Test func bufferCapDeclaresTheHoleLost() {
        var c = Collector(cap: 4)
        c.seg(0, "", syn: true)
        c.seg(1, "a")
        c.seg(5, "efg")
        c.seg(8, "hij")          // would exceed the cap
        #expect(c.gaps == [3])
        #expect(c.text == "aefghij")
        #expect(c.r.statistics.bufferCapHits == 1)
    }

    @Test func midstreamStartsAtTheFirstSegment() {
        var c = Collector()
        c.seg(5000, "hello")
        #expect(c.text == "hello" && c.r.startedMidstream)
    }

    @Test func flushDeclaresRemainingHolesAndFin() {
        var c = Collector()
        c.seg(0, "", syn: true)
        c.seg(1, "a")
        c.seg(4, "d")
        c.seg(10, "", fin: true)
        c.flush()
        #expect(c.gaps == [2, 5])
        #expect(c.text == "ad")
    }

    /// A last reply the capture lost, which the peer acknowledged: flushing (the buffer cap's
    /// way out) says nothing of it, ending the connection declares it; a FIN acknowledged
    /// after it is not a byte.
    @Test func endDeclaresWhatThePeerAcknowledgedPastTheLastByte() {
        var c = Collector()
        c.seg(0, "", syn: true)
        c.seg(1, "abc")
        c.ack(4)
        c.ack(14)        // "defghijklm" never captured
        c.ack(15)        // and the FIN after it
        c.flush()
        #expect(c.gaps.isEmpty)
        c.end()
        #expect(c.gaps == [10] && c.text == "abc")
        #expect(c.r.statistics.gapBytes == 10)
        #expect(!c.r.acknowledgedButNeverSeen)
    }

    /// The peer acknowledged past a hole before the data behind it came (the capture lost a
    /// reply's end, the client's next command acknowledged it, then the next reply came): the
    /// hole is a gap and the data is delivered as it comes, not at the next acknowledgment.
    @Test func dataBehindAHoleThePeerHadAcknowledgedIsDeliveredAtOnce() {
        var c = Collector()
        c.seg(0, "", syn: true)
        c.seg(1, "abc")
        c.ack(14)                // "defghijklm" acknowledged, never captured
        #expect(c.gaps.isEmpty)  // nothing waits behind the hole yet
        c.seg(14, "xyz")
        #expect(c.gaps == [10] && c.text == "abcxyz")
        // Behind a hole the peer had not acknowledged that far, data waits as before.
        var w = Collector()
        w.seg(0, "", syn: true)
        w.seg(1, "abc")
        w.ack(10)
        w.seg(14, "xyz")
        #expect(w.gaps.isEmpty && w.text == "abc")
    }

    /// Acknowledging one past the last byte is its FIN, even when it came with the bytes'
    /// own acknowledgment; a FIN the capture showed ends the stream where it said.
    @Test func endTakesOneMoreAcknowledgedForTheFIN() {
        var c = Collector()
        c.seg(0, "", syn: true)
        c.seg(1, "abc")
        c.ack(5)
        c.end()
        #expect(c.gaps.isEmpty)
        var f = Collector()
        f.seg(0, "", syn: true)
        f.seg(1, "abc", fin: true)
        f.ack(5)
        f.end()
        #expect(f.gaps.isEmpty && f.r.isFinished)
    }

    /// A direction the capture never showed (a tap on one fibre, asymmetric routing): the
    /// peer's acknowledgments count what it sent, from the first one seen, less its FIN.
    @Test func aDirectionNeverCapturedIsOneGapOfWhatThePeerAcknowledged() {
        var c = Collector()
        c.ack(1001)
        #expect(!c.r.isBehind(acknowledged: 1001) && !c.r.acknowledgedButNeverSeen)
        c.ack(1050)
        #expect(c.r.isBehind(acknowledged: 1050) && c.r.acknowledgedButNeverSeen)
        c.ack(1040)      // an older acknowledgment, reordered
        c.ack(1651)
        c.ack(1652)      // the FIN
        c.end()
        #expect(c.gaps == [650] && c.text.isEmpty)
        // Without acknowledgments past the first, nothing is known to be missing.
        var quiet = Collector()
        quiet.ack(7)
        quiet.ack(7)
        quiet.end()
        #expect(quiet.gaps.isEmpty && !quiet.r.acknowledgedButNeverSeen)
    }

    @Test func flowTableEvictsOldestButGivesLiveSessionsASecondChance() {
        let t = FlowTable<Bool>(capacity: 3)
        func key(_ p: UInt16) -> ConnectionKey { ConnectionKey.of(source: Endpoint(.v4(1), p), destination: Endpoint(.v4(2), 80)).key }
        var evicted: [UInt16] = []
        let now = Timestamp(nanoseconds: 1_000)
        for p in UInt16(1)...3 { _ = t.insert(key(p), p == 1, at: now, keep: { $0 }, evicted: { evicted.append($0.key.low.port) }) }
        _ = t.insert(key(4), false, at: now, keep: { $0 }, evicted: { evicted.append($0.key.low.port) })
        #expect(evicted == [2], "port 1 is marked worth keeping")
        #expect(t.count == 3 && t.evictions == 1)
    }

    /// The table's own index against a Dictionary model: random inserts and removals of
    /// IPv4 and IPv6 keys, with enough churn that probe runs wrap and shift back many times.
    @Test func flowTableFindsWhatADictionaryFinds() {
        let t = FlowTable<Int>(capacity: 5_000)
        var model: [ConnectionKey: Int] = [:]
        var slotOf: [ConnectionKey: Int] = [:]
        var rng = SystemRandomNumberGenerator()
        func key(_ n: Int) -> ConnectionKey {
            let a: IPAddress = n % 3 == 0 ? .v6(UInt64(n >> 4), UInt64(n)) : .v4(UInt32(n >> 6))
            return ConnectionKey.of(source: Endpoint(a, UInt16(truncatingIfNeeded: n)), destination: Endpoint(.v4(7), 21)).key
        }
        let now = Timestamp(nanoseconds: 1)
        for step in 0..<60_000 {
            let k = key(Int.random(in: 0..<8_000, using: &rng))
            if let slot = slotOf[k] {
                #expect(t.slot(of: k) == slot)
                #expect(t.remove(slot: slot).value == model[k])
                model[k] = nil; slotOf[k] = nil
            } else {
                #expect(t.slot(of: k) == nil)
                slotOf[k] = t.insert(k, step, at: now, keep: { _ in false }, evicted: { _ in Issue.record("no eviction below capacity") })
                model[k] = step
            }
        }
        #expect(t.count == model.count)
        for (k, v) in model { #expect(t.slot(of: k).map { t[$0].value } == v) }
    }
}

/// A capture that joins a connection: the other side's first acknowledgment says where this
/// direction stood, so a first segment the capture lost is a hole, not the stream's start.
@Suite struct MidstreamStartTests {
    private func run(_ steps: (inout StreamReassembler, (StreamEvent) -> Void) -> Void) -> [String] {
        var r = StreamReassembler()
        var out: [String] = []
        steps(&r) { e in
            switch e {
            case .data(let b): out.append(String(decoding: b, as: UTF8.self))
            case .gap(let n): out.append("gap \(n)")
            }
        }
        return out
    }

    @Test func aLostFirstSegmentAfterTheJoinIsAGap() {
        let got = run { r, deliver in
            r.acknowledged(1000, deliver)  // the client's command acknowledges up to 1000
            r.acknowledged(1031, deliver)  // and its next one past a reply the capture lost
            Array("213 27019\r\n".utf8).withUnsafeBytes { r.receive(sequence: 1031, syn: false, fin: false, payload: $0, deliver) }
            r.acknowledged(1042, deliver)
        }
        #expect(got == ["gap 31", "213 27019\r\n"])
    }

    @Test func aFirstSegmentWhereThePeerStoodIsTheStart() {
        let got = run { r, deliver in
            r.acknowledged(1000, deliver)
            Array("200 ok\r\n".utf8).withUnsafeBytes { r.receive(sequence: 1000, syn: false, fin: false, payload: $0, deliver) }
        }
        #expect(got == ["200 ok\r\n"])
    }
}
