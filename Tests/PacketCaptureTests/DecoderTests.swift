import PacketCapture
import TestSupport
import Testing

@Suite struct DecoderTests {
    let src = Endpoint(IPAddress("10.0.0.5")!, 40000)
    let dst = Endpoint(IPAddress("192.0.2.1")!, 21)

    /// What a decode said, copied out of the borrowed buffer.
    struct Decoded {
        var source: Endpoint, destination: Endpoint, sequence: UInt32, acknowledgment: UInt32
        var flags: TCPFlags, payloadCount: Int, missingPayload: Int
    }

    private func failure(_ frame: [UInt8], _ link: LinkType) -> DecodeOutcome? {
        if case .failure(let f) = decode(frame, link) { return f }
        return nil
    }

    private func decode(_ frame: [UInt8], _ link: LinkType) -> Result<Decoded, DecodeOutcome> {
        frame.withUnsafeBytes { raw in
            PacketDecoder(linkType: link).decode(raw).map { s in
                Decoded(source: s.source, destination: s.destination, sequence: s.sequence, acknowledgment: s.acknowledgment,
                        flags: s.flags, payloadCount: s.payload.count, missingPayload: s.missingPayload)
            }
        }
    }

    @Test func ipv4WithOptionsAndEthernetPadding() throws {
        let f = FrameBuilder.tcp(src: src, dst: dst, seq: 7, ack: 9, flags: [.ack], payload: Array("hi".utf8), ipv4Options: [1, 1, 1, 1])
        let s = try decode(f, .ethernet).get()
        #expect(s.source == src && s.destination == dst && s.sequence == 7 && s.acknowledgment == 9)
        #expect(s.payloadCount == 2, "padding after the IP length is not payload")
    }

    @Test func ipv6ExtensionHeaders() throws {
        let a = Endpoint(IPAddress("2001:db8::1")!, 40000), b = Endpoint(IPAddress("2001:db8::2")!, 21)
        let f = FrameBuilder.tcp(src: a, dst: b, seq: 1, ack: 2, flags: [.syn], ipv6ExtensionHeaders: true)
        let s = try decode(f, .ethernet).get()
        #expect(s.source == a && s.flags == [.syn])
        #expect(a.description == "[2001:db8::1]:40000")
    }

    @Test func liesAndFragments() {
        var f = FrameBuilder.tcp(src: src, dst: dst, seq: 1, ack: 1, flags: [.ack], payload: [1, 2, 3])
        var bad = f; bad[14] = 0x43                    // IHL 3
        #expect(failure(bad, .ethernet) == (.malformed(.badIPHeaderLength)))
        var tcpLie = f; tcpLie[14 + 20 + 12] = 0xF0    // TCP header claims 60 bytes
        #expect(failure(tcpLie, .ethernet) == (.malformed(.badTCPHeaderLength)))
        var frag = f; frag[14 + 6] = 0x20              // more fragments
        #expect({ if case .ipFragment = failure(frag, .ethernet) { true } else { false } }())
        #expect(failure(Array(f.prefix(20)), .ethernet) == .malformed(.truncatedIPHeader))
        #expect(failure([], .ethernet) == (.malformed(.truncatedLinkHeader)))
        f[12] = 0x08; f[13] = 0x06                     // ARP
        #expect(failure(f, .ethernet) == (.notIP))
        #expect(failure(f, .unsupported(147)) == (.unsupportedLinkType(147)))
    }

    /// Link layers of wireless monitor captures, serial lines and firewall logs, each around
    /// the same IPv4 and IPv6 packets: the segment inside is found, and a frame that carries no
    /// readable IP packet says why (not IP, or which header is cut) rather than being misread.
    @Test func linkLayersBesideEthernet() throws {
        let a6 = Endpoint(IPAddress("2001:db8::1")!, 40000), b6 = Endpoint(IPAddress("2001:db8::2")!, 21)
        for (from, to) in [(src, dst), (a6, b6)] {
            let ip = FrameBuilder.tcp(src: from, dst: to, seq: 5, ack: 6, flags: [.ack], payload: Array("230 ok\r\n".utf8), link: .raw)
            let etherType = ip[0] >> 4 == 6 ? FrameBuilder.be16(0x86DD) : FrameBuilder.be16(0x0800)
            let snap: [UInt8] = [0xAA, 0xAA, 0x03, 0, 0, 0] + etherType
            let addresses = [UInt8](repeating: 0x11, count: 18), sequence: [UInt8] = [0x10, 0x00]
            let data = [0x08, 0x01] + [0, 0] + addresses + sequence                   // data, to the DS
            let qos = [0x88, 0x02] + [0, 0] + addresses + sequence + [0x00, 0x00]   // QoS data, from the DS
            let wds = [0x08, 0x03] + [0, 0] + addresses + sequence + [UInt8](repeating: 0x22, count: 6)
            let ht = [0x88, 0x82] + [0, 0] + addresses + sequence + [0x00, 0x00] + [0, 0, 0, 0]
            let fcs: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]
            // Radiotap: TSFT (8 bytes, 8-aligned), flags (FCS at the end, header padded to 4),
            // a second bitmap word; the QoS header (26 bytes) padded to 28.
            let radiotap: [UInt8] = [0, 0] + [28, 0] + [0x03, 0, 0, 0x80] + [0, 0, 0, 0] + [0, 0, 0, 0] + [UInt8](repeating: 7, count: 8)
                + [0x30] + [0, 0, 0]
            let ppiHeader: [UInt8] = [0, 0, 8, 0, 105, 0, 0, 0]
            let pppProtocol: [UInt8] = ip[0] >> 4 == 6 ? [0x00, 0x57] : [0x00, 0x21]
            let frames: [(LinkType, [UInt8])] = [
                (.ieee80211, data + snap + ip + fcs), (.ieee80211, qos + snap + ip), (.ieee80211, wds + snap + ip),
                (.ieee80211, ht + snap + ip),
                (.radiotap, radiotap + qos + [0, 0] + snap + ip + fcs),
                (.ppi, ppiHeader + data + snap + ip),
                (.ppp, [0xFF, 0x03] + pppProtocol + ip), (.ppp, pppProtocol + ip),
                (.pppWithDirection, [1, 0xFF, 0x03] + pppProtocol + ip),
                (.pppSerial, [0xFF, 0x03] + pppProtocol + ip), (.pppSerial, [0x0F, 0x00] + etherType + ip),
                (.ciscoHDLC, [0x8F, 0x00] + etherType + ip),
                // NFLOG: family, version, group; a prefix attribute, the hardware header
                // attribute, then the payload, in the logging host's byte order (little-endian,
                // then big-endian as a big-endian host writes it).
                (.nflog, [2, 0, 0, 7] + [8, 0, 10, 0] + Array("ftp\0".utf8) + [8, 0, 1, 0, 8, 0, 3, 0]
                    + [UInt8(4 + ip.count & 0xFF), UInt8((4 + ip.count) >> 8), 9, 0] + ip),
                (.nflog, [10, 0, 0, 7] + FrameBuilder.be16(UInt16(4 + ip.count)) + [0, 9] + ip),
                // PFLOG: OpenBSD's 61-byte header (length, family, action, reason, interface,
                // ruleset, rule numbers, ids, direction), padded to 64.
                (.pflog, [61, ip[0] >> 4 == 6 ? 24 : 2, 0, 0] + Array("em0".utf8) + [UInt8](repeating: 0, count: 13)
                    + [UInt8](repeating: 0, count: 16) + [UInt8](repeating: 0, count: 24) + [1, 0, 0, 0] + ip),
            ]
            for (i, (link, frame)) in frames.enumerated() {
                let s = try #require(try? decode(frame, link).get(), "\(link) #\(i): \(String(describing: failure(frame, link)))")
                #expect(s.source == from && s.destination == to && s.sequence == 5 && s.payloadCount == 8, "\(link) #\(i)")
            }
            // PPP's protocol compressed to one byte (RFC 1661 6.5).
            if ip[0] >> 4 == 4 { #expect(try decode([0x21] + ip, .ppp).get().payloadCount == 8) }
            var protected = data; protected[1] |= 0x40
            var fragment = data; fragment[1] |= 0x04
            var aggregated = qos; aggregated[24] = 0x80
            let beacon: [UInt8] = [0x80, 0x00] + [0, 0] + addresses + sequence + [UInt8](repeating: 0, count: 12)
            let nullData: [UInt8] = [0x48, 0x01] + [0, 0] + addresses + sequence
            for frame in [protected + snap + ip, fragment + snap + ip, aggregated + snap + ip, beacon, nullData, data + [0x42, 0x42, 0x03] + ip] {
                #expect(failure(frame, .ieee80211) == .notIP)
            }
            #expect(failure([0xFF, 0x03, 0xC0, 0x21, 1, 1, 0, 4], .ppp) == .notIP)  // LCP
            #expect(failure([2, 0, 0, 7, 8, 0, 10, 0] + Array("ftp\0".utf8), .nflog) == .notIP)
            #expect(failure([0, 0, 8, 0, 1, 0, 0, 0] + data + snap + ip, .ppi) == .unsupportedLinkType(1))
        }
        // Every prefix of every header is a truncation or "not IP", never a read past the end.
        let ip = FrameBuilder.tcp(src: src, dst: dst, seq: 5, ack: 6, flags: [.ack], link: .raw)
        let whole: [(LinkType, [UInt8])] = [
            (.radiotap, [0, 0, 20, 0, 0x03, 0, 0, 0] + [UInt8](repeating: 0, count: 8) + [0x10, 0, 0, 0] + [0x08, 0x01, 0, 0] + [UInt8](repeating: 0, count: 20) + [0xAA, 0xAA, 3, 0, 0, 0, 8, 0] + ip),
            (.ppi, [0, 0, 8, 0, 105, 0, 0, 0, 0x88, 0x01, 0, 0] + [UInt8](repeating: 0, count: 20) + [0, 0, 0xAA, 0xAA, 3, 0, 0, 0, 8, 0] + ip),
            (.nflog, [2, 0, 0, 7, 8, 0, 10, 0, 0x66, 0x74, 0x70, 0] + FrameBuilder.be16(UInt16(4 + ip.count)) + [0, 9] + ip),
            (.pppWithDirection, [0, 0xFF, 0x03, 0x00, 0x21] + ip), (.pppSerial, [0x0F, 0, 8, 0] + ip),
            (.pflog, [61, 2] + [UInt8](repeating: 0, count: 62) + ip),
        ]
        for (link, frame) in whole {
            #expect((try? decode(frame, link).get()) != nil, "\(link)")
            for cut in 0..<frame.count - ip.count + 20 {
                let why = failure(Array(frame.prefix(cut)), link)
                #expect(why != nil, "\(link) cut at \(cut)")
            }
        }
    }

    @Test func snapLengthCutIsMissingPayloadNotData() throws {
        let f = FrameBuilder.tcp(src: src, dst: dst, seq: 1, ack: 1, flags: [.ack], payload: [UInt8](repeating: 65, count: 100))
        let s = try decode(Array(f.prefix(14 + 20 + 20 + 30)), .ethernet).get()
        #expect(s.payloadCount == 30 && s.missingPayload == 70)
    }

    @Test func addressText() {
        #expect(IPAddress("::1")!.description == "::1")
        #expect(IPAddress("2001:db8:0:0:1:0:0:1")!.description == "2001:db8::1:0:0:1")
        #expect(IPAddress("fe80::")!.description == "fe80::")
        #expect(IPAddress("1.2.3.256") == nil)
    }

    /// Session identities render endpoints as bytes without strings; they must read exactly
    /// as `description` does, at every digit-count boundary.
    @Test func endpointBytesMatchTheirDescription() {
        var endpoints: [Endpoint] = [Endpoint(IPAddress("2001:db8::1")!, 21), Endpoint(IPAddress("::ffff:10.0.0.1")!, 0)]
        for a: UInt32 in [0, 9, 10, 99, 100, 255] {
            for port: UInt16 in [0, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65535] {
                endpoints.append(Endpoint(.v4(a << 24 | a << 16 | (255 - a) << 8 | a), port))
            }
        }
        // The longest IPv6 text too: the bound the writers reserve for.
        endpoints.append(Endpoint(IPAddress("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")!, 65535))
        for e in endpoints {
            let out = [UInt8](unsafeUninitializedCapacity: Endpoint.maxTextLength) { buffer, count in
                count = e.writeText(to: buffer.baseAddress!)
            }
            #expect(String(decoding: out, as: UTF8.self) == e.description)
        }
    }

    /// The word-at-a-time scans against byte-by-byte definitions, at every offset and length,
    /// with the bytes that matter placed in every lane.
    @Test func byteScansAgreeWithByteLoops() {
        var rng = SystemRandomNumberGenerator()
        let interesting: [UInt8] = [0x00, 0x0A, 0x0D, 0x1F, 0x20, 0x21, 0x22, 0x5B, 0x5C, 0x5D, 0x7E, 0x7F, 0x80, 0xC3, 0xFE, 0xFF, 0x41]
        for round in 0..<3_000 {
            let count = Int.random(in: 0...40, using: &rng)
            var bytes = (0..<count).map { _ in round % 3 == 0 ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0x20...0x7E, using: &rng) }
            if round % 5 == 0, count > 0 { bytes[Int.random(in: 0..<count, using: &rng)] = interesting.randomElement(using: &rng)! }
            bytes.withUnsafeBytes { raw in
                for from in 0...count {
                    let want = (from..<count).first { raw[$0] == 0x0A || raw[$0] == 0xFF } ?? count
                    #expect(ByteScan.firstIndex(of: 0x0A, or: 0xFF, in: raw, from: from, to: count) == want)
                }
                let plain = raw.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }
                #expect(ByteScan.isPlainJSONText(raw) == plain, "\(bytes)")
            }
        }
    }
}

/// Mirrored and carrier traffic: the TCP segment inside each tunnel is decoded as if it came
/// bare, and nesting past the limit or a tunnel cut short is refused, never read out of bounds.
@Suite struct TunnelTests {
    let src = Endpoint(IPAddress("10.0.0.5")!, 40000)
    let dst = Endpoint(IPAddress("192.0.2.1")!, 21)

    private func inner(_ tunnel: Encapsulation, v6: Bool = false) -> [UInt8] {
        let s = v6 ? Endpoint(IPAddress("2001:db8::5")!, 40000) : src
        let d = v6 ? Endpoint(IPAddress("2001:db8::1")!, 21) : dst
        return FrameBuilder.tcp(src: s, dst: d, seq: 7, ack: 9, flags: [.ack, .psh], payload: Array("USER a\r\n".utf8),
                                link: tunnel.carriesEthernet ? .ethernet(vlans: [100]) : .raw)
    }

    private func decoded(_ frame: [UInt8]) -> (Endpoint, Endpoint, String)? {
        frame.withUnsafeBytes { raw in
            guard case .success(let s) = PacketDecoder(linkType: .ethernet).decode(raw) else { return nil }
            return (s.source, s.destination, String(decoding: s.payload, as: UTF8.self))
        }
    }

    @Test(arguments: Encapsulation.allCases)
    func theSegmentInsideEachTunnel(_ tunnel: Encapsulation) throws {
        let got = try #require(decoded(tunnel.wrap(inner(tunnel))))
        #expect(got.0 == src && got.1 == dst && got.2 == "USER a\r\n")
        if !tunnel.carriesEthernet {
            let v6 = try #require(decoded(tunnel.wrap(inner(tunnel, v6: true))))
            #expect(v6.0.port == 40000 && v6.0.address == IPAddress("2001:db8::5")! && v6.2 == "USER a\r\n")
        }
    }

    @Test func everyCutOfATunnelledFrameIsRefusedOrDecodedWithinIt() {
        for tunnel in Encapsulation.allCases {
            let frame = tunnel.wrap(inner(tunnel))
            for cut in 0..<frame.count {
                // Copied to a buffer of exactly this length: a read past it is caught by ASan.
                let piece = Array(frame[0..<cut])
                let result = piece.withUnsafeBytes { PacketDecoder(linkType: .ethernet).decode($0).map { $0.payload.count } }
                if case .success(let n) = result { #expect(n <= cut) }
            }
        }
    }

    @Test func nestingStopsAtItsLimit() {
        var frame = FrameBuilder.tcp(src: src, dst: dst, seq: 1, ack: 1, flags: [.ack], link: .raw)
        // IP in IP five times over: four layers are followed, the fifth is not.
        for _ in 0..<4 { frame = Array(Encapsulation.ipInIP.wrap(frame).dropFirst(14)) }
        #expect(decoded([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00] + frame) != nil)
        frame = Encapsulation.ipInIP.wrap(frame)
        let refused = frame.withUnsafeBytes { raw -> DecodeOutcome? in
            if case .failure(let f) = PacketDecoder(linkType: .ethernet).decode(raw) { return f }
            return nil
        }
        #expect(refused == .notTCP)
    }
}
