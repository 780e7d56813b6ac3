import PacketCapture
import TestSupport
import Testing

/// IP fragments put back together as the receiving host did: in any order, with duplicates
/// and lies, within bounds, inside tunnels and around them.
@Suite struct FragmentReassemblerTests {
    let v4 = (Endpoint(IPAddress("10.0.0.5")!, 40000), Endpoint(IPAddress("192.0.2.1")!, 21))
    let v6 = (Endpoint(IPAddress("2001:db8::5")!, 40000), Endpoint(IPAddress("2001:db8::1")!, 21))

    /// A segment handed on, copied out of the borrowed buffer.
    struct Segment: Equatable {
        var source: Endpoint, destination: Endpoint, sequence: UInt32, payload: [UInt8], missing = 0
    }

    /// Runs frames through decoder and reassembler as a driver does; the segments that came out.
    func run(_ frames: [[UInt8]], _ r: FragmentReassembler = FragmentReassembler(),
             times: [Int64]? = nil) -> [Segment] {
        let decoder = PacketDecoder(linkType: .ethernet)
        var out: [Segment] = []
        for (i, f) in frames.enumerated() {
            f.withUnsafeBytes { bytes in
                var p = RawPacket(timestamp: Timestamp(nanoseconds: times?[i] ?? Int64(i)), wireLength: bytes.count, bytes: bytes)
                var decoded = decoder.decode(bytes)
                r.resolve(&p, &decoded, decoder: decoder)
                if case .success(let s) = decoded {
                    out.append(Segment(source: s.source, destination: s.destination, sequence: s.sequence,
                                       payload: Array(s.payload), missing: s.missingPayload))
                }
            }
        }
        return out
    }

    func frame(_ ends: (Endpoint, Endpoint), _ payload: [UInt8], seq: UInt32 = 7) -> [UInt8] {
        FrameBuilder.tcp(src: ends.0, dst: ends.1, seq: seq, ack: 1, flags: [.ack, .psh], payload: payload)
    }

    let text = Array((0..<3000).map { UInt8(ascii: "a") + UInt8($0 % 26) })

    @Test(arguments: [false, true])
    func inOrderReversedAndShuffled(_ ipv6: Bool) {
        let whole = frame(ipv6 ? v6 : v4, text)
        let pieces = Fragmentation.fragments(of: whole, size: 600)
        #expect(pieces.count == 6)
        let expected = run([whole])
        #expect(expected.count == 1 && expected[0].payload == text)
        for order in [Array(pieces.indices), pieces.indices.reversed(), [3, 0, 5, 1, 4, 2]] {
            let r = FragmentReassembler()
            let got = run(order.map { pieces[$0] }, r)
            #expect(got == expected, "order \(order)")
            #expect(r.counts.fragments == 6 && r.counts.datagrams == 1 && r.counts.conflicts == 0)
            // Only the last fragment in yields the datagram, and the frame's bytes are counted
            // back out so that the summary's bytes stay the capture's.
            #expect(r.counts.addedBytes == whole.count - 14 - pieces[order.last!].count)
            r.finish()
            #expect(r.counts.unreassembled == 0)
        }
    }

    @Test func anythingButAFragmentPassesUntouched() {
        let whole = frame(v4, Array("220 ready\r\n".utf8))
        let r = FragmentReassembler()
        whole.withUnsafeBytes { bytes in
            var p = RawPacket(timestamp: .zero, wireLength: bytes.count, bytes: bytes)
            var decoded = PacketDecoder(linkType: .ethernet).decode(bytes)
            r.resolve(&p, &decoded, decoder: PacketDecoder(linkType: .ethernet))
            #expect(p.bytes.baseAddress == bytes.baseAddress)
            guard case .success(let s) = decoded else { Issue.record("not decoded"); return }
            #expect(Array(s.payload) == Array("220 ready\r\n".utf8))
        }
        #expect(r.counts == FragmentReassembler.Counts())
    }

    /// A repeated fragment is a retransmission: no conflict; a different one for the same
    /// place is counted and the first bytes are kept, as Wireshark and Zeek keep them.
    @Test func duplicatesAndConflictingOverlaps() {
        let whole = frame(v4, text)
        let pieces = Fragmentation.fragments(of: whole, size: 1016)
        let r = FragmentReassembler()
        #expect(pieces.count == 3)
        #expect(run([pieces[0], pieces[1], pieces[1], pieces[2]], r).map(\.payload) == [text])
        #expect(r.counts.conflicts == 0 && r.counts.datagrams == 1)

        var forged = pieces[1]
        forged[forged.count - 5] ^= 0xFF
        let r2 = FragmentReassembler()
        #expect(run([pieces[0], pieces[1], forged, pieces[2]], r2).map(\.payload) == [text])
        #expect(r2.counts.conflicts == 1 && r2.counts.datagrams == 1)
        // Arriving first, the forged copy is the one kept.
        let r3 = FragmentReassembler()
        let kept = run([forged, pieces[0], pieces[1], pieces[2]], r3)
        #expect(kept.count == 1 && kept[0].payload != text && r3.counts.conflicts == 1)
    }

    /// Fragments that overlap at different boundaries (a second sender's split) still fill the datagram.
    @Test func overlappingAtDifferentBoundaries() {
        let whole = frame(v4, text)
        let small = Fragmentation.fragments(of: whole, size: 400)
        let large = Fragmentation.fragments(of: whole, size: 1200)
        let r = FragmentReassembler()
        #expect(run([large[0], small[3], small[4], small[7], large[2], small[5]], r).map(\.payload) == [text])
        #expect(r.counts.conflicts == 0)
    }

    /// A datagram waits as long as the kernel would (30 s) and is then given up; its late
    /// last fragment completes nothing.
    @Test func aDatagramThatWaitsTooLongIsGivenUp() {
        let pieces = Fragmentation.fragments(of: frame(v4, text), size: 1016)
        let other = frame(v4, Array("200 ok\r\n".utf8))
        let r = FragmentReassembler()
        let second: Int64 = 1_000_000_000
        let got = run([pieces[0], pieces[1], other, pieces[2]], r, times: [0, 1, 31 * second, 32 * second])
        #expect(got.map(\.payload) == [Array("200 ok\r\n".utf8)])
        #expect(r.counts.unreassembled == 2 && r.counts.datagrams == 0)
        r.finish()
        #expect(r.counts.unreassembled == 3)
        // Within the time, the same fragments complete it.
        let r2 = FragmentReassembler()
        #expect(run([pieces[0], pieces[1], other, pieces[2]], r2, times: [0, 1, 29 * second, 29 * second]).count == 2)
    }

    /// Memory stays bounded however many datagrams never complete.
    @Test func waitingDatagramsAreBounded() {
        let r = FragmentReassembler()
        let n = FragmentReassembler.maxDatagrams + 100
        let pieces = (0..<n).map { Fragmentation.fragments(of: frame(v4, text), size: 1016, id: UInt32($0)) }
        #expect(run(pieces.map { $0[0] }, r).isEmpty)
        #expect(r.counts.unreassembled == 100 && r.counts.fragments == n)
        // The oldest were given up: the rest of the first datagram completes nothing, the rest
        // of the last one completes it.
        #expect(run([pieces[0][1], pieces[0][2]], r).isEmpty)
        #expect(run([pieces[n - 1][1], pieces[n - 1][2]], r).map(\.payload) == [text])
        r.finish()
        #expect(r.counts.unreassembled == n - 1 + 2 && r.counts.datagrams == 1)
    }

    /// Datagrams that complete while an old one waits leave nothing behind: a long capture
    /// of fragments runs in the same memory, and the old one still times out.
    @Test func completedDatagramsDoNotPileUpBehindAWaitingOne() {
        let r = FragmentReassembler()
        let stuck = Fragmentation.fragments(of: frame(v4, text), size: 1016, id: 60_000)
        let second: Int64 = 1_000_000_000
        #expect(run([stuck[0]], r, times: [0]).isEmpty)
        var frames: [[UInt8]] = [], times: [Int64] = []
        for i in 0..<5_000 {
            for f in Fragmentation.fragments(of: frame(v4, Array(text.prefix(1500))), size: 1016, id: UInt32(i)) {
                frames.append(f); times.append(Int64(i) * (20 * second / 5_000))
            }
        }
        // A fragment after the old one's 30 s is what gives it up.
        frames.append(Fragmentation.fragments(of: frame(v4, text), size: 1016, id: 60_001)[0]); times.append(31 * second)
        #expect(run(frames, r, times: times).count == 5_000)
        #expect(r.counts.datagrams == 5_000 && r.counts.unreassembled == 1)
    }

    /// Fragments whose offsets put the datagram past 65,535 bytes (the "ping of death") are
    /// refused.
    @Test func oversizedFragments() {
        var pieces = Fragmentation.fragments(of: frame(v4, text), size: 1016)
        pieces[2][14 + 6] = 0x1F; pieces[2][14 + 7] = 0xFF  // offset 65,528
        let r = FragmentReassembler()
        #expect(run(pieces, r).isEmpty)
        #expect(r.counts.unreassembled == 1)
        r.finish()
        #expect(r.counts.unreassembled == 3 && r.counts.datagrams == 0)
    }

    /// A fragment the snap length cut has still arrived: the datagram is handed on as far as
    /// it was captured without a hole, the rest missing, as a whole packet cut short would be
    /// (and the frame it replaces counted as cut only if it was).
    @Test func fragmentsCutByTheSnapLength() {
        var cut = Fragmentation.fragments(of: frame(v4, text), size: 1016)
        cut[1].removeLast(10)
        let r = FragmentReassembler()
        let got = run(cut, r)
        // IP data captured without a hole: 1,016 + 1,006 bytes, 20 of them the TCP header.
        #expect(got.count == 1 && got.first?.payload == Array(text.prefix(2002)) && got.first?.missing == 998)
        #expect(r.counts.datagrams == 1 && r.counts.unreassembled == 0)
    }

    /// Two datagrams with the same id from different sources, or of different protocols, are
    /// kept apart.
    @Test func datagramsAreKeptApartByTheirKey() {
        let a = Fragmentation.fragments(of: frame(v4, text), size: 1016, id: 9)
        let other = (Endpoint(IPAddress("10.0.0.6")!, 40000), v4.1)
        let b = Fragmentation.fragments(of: frame(other, Array(text.reversed())), size: 1016, id: 9)
        let got = run([a[0], b[0], a[1], b[1], b[2], a[2]])
        #expect(got.map(\.source) == [other.0, v4.0])
        #expect(got.map(\.payload) == [Array(text.reversed()), text])
    }

    /// A mirror's VXLAN packets fragmented on the way (the outer header split), and an inner
    /// packet fragmented inside the tunnel (each fragment wrapped whole): the inner segment
    /// either way, by its inner addresses.
    @Test func fragmentsAroundAndInsideATunnel() {
        let inner = frame(v4, text)
        let outer = Encapsulation.vxlan.wrap(inner)
        let r = FragmentReassembler()
        let around = run(Fragmentation.fragments(of: outer, size: 1400), r)
        #expect(around.map(\.payload) == [text] && around.first?.source == v4.0)
        #expect(r.counts.fragments == 3)

        let inside = Fragmentation.fragments(of: inner, size: 1400).map { Encapsulation.vxlan.wrap($0) }
        let r2 = FragmentReassembler()
        #expect(run(inside.reversed(), r2).map(\.payload) == [text])
        #expect(r2.counts.datagrams == 1)

        // Both at once: the inner datagram's fragments, each wrapped and then itself split.
        let both = inside.enumerated().flatMap { Fragmentation.fragments(of: $1, size: 800, id: 77 + UInt32($0)) }
        let r3 = FragmentReassembler()
        #expect(run(both, r3).map(\.payload) == [text])
        // The last wrapped fragment is short enough to go whole: two outer datagrams, one inner.
        #expect(r3.counts.datagrams == 2 + 1 && r3.counts.unreassembled == 0)
    }
}
