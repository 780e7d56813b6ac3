import Foundation
import PacketCapture
#if canImport(Glibc)
import Glibc
#endif

/// A scripted TCP conversation between an FTP client and server, written as frames with
/// realistic sequence numbers and ACKs. Tests reorder, duplicate or drop segments by index.
public struct Conversation {
    public struct Packet {
        public var frame: [UInt8]
        public var timestamp: Timestamp
        public var fromClient: Bool
        public var payload: [UInt8]
        /// The frame's length on the wire when the capture kept less (a short snap length).
        public var wireLength: Int? = nil
    }

    public let client: Endpoint
    public let server: Endpoint
    public var link: FrameBuilder.Link
    public private(set) var packets: [Packet] = []
    private var clientSeq: UInt32
    private var serverSeq: UInt32
    public var clock: Int64
    public var step: Int64 = 1_000_000  // 1 ms between packets

    public init(client: Endpoint = Endpoint(IPAddress("10.0.0.5")!, 40312),
                server: Endpoint = Endpoint(IPAddress("192.0.2.1")!, 21),
                link: FrameBuilder.Link = .ethernet(), clientISN: UInt32 = 1000, serverISN: UInt32 = 5000,
                start: Int64 = 1_763_800_000_000_000_000) {
        self.client = client; self.server = server; self.link = link
        clientSeq = clientISN; serverSeq = serverISN; clock = start
    }

    private mutating func add(fromClient: Bool, flags: TCPFlags, payload: [UInt8]) {
        let (src, dst) = fromClient ? (client, server) : (server, client)
        let seq = fromClient ? clientSeq : serverSeq
        let ack = fromClient ? serverSeq : clientSeq
        let frame = FrameBuilder.tcp(src: src, dst: dst, seq: seq, ack: ack, flags: flags, payload: payload, link: link)
        packets.append(Packet(frame: frame, timestamp: Timestamp(nanoseconds: clock), fromClient: fromClient, payload: payload))
        clock += step
        var advance = UInt32(payload.count)
        if flags.contains(.syn) || flags.contains(.fin) { advance += 1 }
        if fromClient { clientSeq &+= advance } else { serverSeq &+= advance }
    }

    public mutating func handshake() {
        add(fromClient: true, flags: [.syn], payload: [])
        add(fromClient: false, flags: [.syn, .ack], payload: [])
        add(fromClient: true, flags: [.ack], payload: [])
    }

    /// Server bytes, cut into segments of at most `segment` bytes.
    public mutating func server(_ text: String, segment: Int = 1448) { send(Array(text.utf8), fromClient: false, segment: segment) }
    public mutating func client(_ text: String, segment: Int = 1448) { send(Array(text.utf8), fromClient: true, segment: segment) }
    public mutating func serverBytes(_ b: [UInt8], segment: Int = 1448) { send(b, fromClient: false, segment: segment) }
    public mutating func clientBytes(_ b: [UInt8], segment: Int = 1448) { send(b, fromClient: true, segment: segment) }

    public mutating func send(_ bytes: [UInt8], fromClient: Bool, segment: Int) {
        var i = 0
        while i < bytes.count {
            let n = min(segment, bytes.count - i)
            add(fromClient: fromClient, flags: [.ack, .psh], payload: Array(bytes[i..<(i + n)]))
            i += n
        }
    }

    /// A pure ACK from one side (acknowledges everything the other side sent so far).
    public mutating func ack(fromClient: Bool) { add(fromClient: fromClient, flags: [.ack], payload: []) }

    /// A control connection logged in: the handshake, a 220, USER answered by 331 and PASS by 230.
    public static func loggedIn(client: Endpoint, server: Endpoint) -> Conversation {
        var c = Conversation(client: client, server: server)
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("USER bob\r\n"); c.server("331 Password.\r\n")
        c.client("PASS x\r\n"); c.server("230 In.\r\n")
        return c
    }

    /// Another connection opened now (a data connection beside a control one): its handshake
    /// done, this conversation's clock after it.
    public mutating func opening(client: Endpoint, server: Endpoint) -> Conversation {
        var other = Conversation(client: client, server: server, link: link, start: clock)
        other.handshake()
        clock = other.clock
        return other
    }

    /// `other`, from now, carries `bytes` from its server side, acknowledged, and closes; this
    /// conversation's clock after it.
    public mutating func carry(_ bytes: [UInt8], on other: inout Conversation) {
        other.clock = clock
        other.serverBytes(bytes); other.ack(fromClient: true); other.close()
        clock = other.clock
    }

    public mutating func close() {
        add(fromClient: false, flags: [.fin, .ack], payload: [])
        add(fromClient: true, flags: [.fin, .ack], payload: [])
        add(fromClient: false, flags: [.ack], payload: [])
    }

    public mutating func reset(fromClient: Bool) { add(fromClient: fromClient, flags: [.rst, .ack], payload: []) }

    public mutating func remove(at i: Int) { packets.remove(at: i) }
    /// A packet taken out with `remove(at:)` seen later, as a retransmission would be.
    public mutating func insert(_ packet: Packet, at i: Int) { packets.insert(packet, at: i) }
    public mutating func setFrame(_ i: Int, _ frame: [UInt8]) { packets[i].frame = frame }
    /// Packet `i` replaced by several frames (its fragments), a nanosecond apart.
    public mutating func replace(_ i: Int, with frames: [[UInt8]]) {
        let p = packets[i]
        packets.replaceSubrange(i...i, with: frames.enumerated().map { k, f in
            Packet(frame: f, timestamp: Timestamp(nanoseconds: p.timestamp.nanoseconds + Int64(k)),
                   fromClient: p.fromClient, payload: k == 0 ? p.payload : [])
        })
    }
    /// Keeps only the first `kept` payload bytes of packet `i`, as a short snap length would.
    public mutating func cutPayload(at i: Int, keeping kept: Int) {
        let cut = packets[i].payload.count - kept
        precondition(cut > 0)
        packets[i].wireLength = packets[i].frame.count
        packets[i].frame.removeLast(cut)
    }
    public mutating func swapAt(_ i: Int, _ j: Int) { packets.swapAt(i, j) }
    public mutating func duplicate(_ i: Int) { packets.insert(packets[i], at: i + 1) }

    /// Indices of packets carrying payload from one side.
    public func dataIndices(fromClient: Bool) -> [Int] {
        packets.indices.filter { packets[$0].fromClient == fromClient && !packets[$0].payload.isEmpty }
    }

    public var linkType: LinkType {
        switch link {
        case .ethernet: .ethernet
        case .linuxSLL: .linuxSLL
        case .linuxSLL2: .linuxSLL2
        case .null: .null
        case .raw: .raw
        }
    }
}

/// Writes conversations (interleaved in time order) to a capture file in a temporary folder.
public enum CaptureFile {
    public static func temporaryPath(_ name: String) -> String {
        // Tests run in parallel: every file gets a name of its own.
        scratchDirectory + "/\(UInt64.random(in: 0...UInt64.max))-" + name
    }

    /// One folder per test process, removed when the process exits: a run of the suite writes
    /// about 150 MB of captures, extracted files and reports into it.
    private static let scratchDirectory: String = {
        let dir = "/tmp/ftpscope-tests-\(getpid())"
        mkdir(dir, 0o755)
        atexit { try? FileManager.default.removeItem(atPath: "/tmp/ftpscope-tests-\(getpid())") }
        return dir
    }()

    public static func write(_ conversations: [Conversation], to path: String, nanosecond: Bool = false) throws {
        let all = conversations.flatMap(\.packets).enumerated().sorted {
            ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset)
        }.map(\.element)
        let writer = try PcapFileWriter(path: path, linkType: conversations[0].linkType, nanosecond: nanosecond)
        for p in all { writer.write(p.frame, at: p.timestamp, wireLength: p.wireLength) }
    }

    /// Packets in the order given (keeps a test's reordering).
    public static func write(packets: [Conversation.Packet], linkType: LinkType, to path: String) throws {
        let writer = try PcapFileWriter(path: path, linkType: linkType)
        for p in packets { writer.write(p.frame, at: p.timestamp, wireLength: p.wireLength) }
    }

    /// One interface of a pcapng file: its link type and the `if_tsresol` byte of its
    /// timestamps (9: nanoseconds; 6: microseconds; 0x80 | n: 2^-n seconds).
    public struct PcapngInterface {
        public var linkType: LinkType
        public var resolution: UInt8
        public var snapLength: UInt32
        public init(_ linkType: LinkType, resolution: UInt8 = 9, snapLength: UInt32 = 262_144) {
            self.linkType = linkType; self.resolution = resolution; self.snapLength = snapLength
        }
    }

    /// A pcapng file with several interfaces, each packet on the one given: the first
    /// `upFront` interfaces described at the start, the others just before packet `restBefore`;
    /// enhanced packet blocks with the packet's time in its interface's units.
    public static func writePcapng(_ packets: [(interface: Int, packet: Conversation.Packet)], interfaces: [PcapngInterface],
                                   upFront: Int? = nil, restBefore: Int = 0, bigEndian: Bool = false, to path: String) {
        var out: [UInt8] = []
        func w32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: bigEndian ? v.bigEndian : v.littleEndian) { Array($0) } }
        func w16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: bigEndian ? v.bigEndian : v.littleEndian) { Array($0) } }
        func block(_ type: UInt32, _ body: [UInt8]) {
            var b = body
            while b.count % 4 != 0 { b.append(0) }
            let len = UInt32(12 + b.count)
            out += w32(type) + w32(len) + b + w32(len)
        }
        func describe(_ i: PcapngInterface) {
            block(1, w16(UInt16(i.linkType.dlt)) + w16(0) + w32(i.snapLength) + w16(9) + w16(1) + [i.resolution, 0, 0, 0] + w16(0) + w16(0))
        }
        block(0x0A0D0D0A, w32(0x1A2B3C4D) + w16(1) + w16(0) + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        let described = upFront ?? interfaces.count
        for i in interfaces.prefix(described) { describe(i) }
        for (k, (interface, p)) in packets.enumerated() {
            if k == restBefore { for i in interfaces.dropFirst(described) { describe(i) } }
            let r = interfaces[interface].resolution
            let ns = UInt64(bitPattern: p.timestamp.nanoseconds)
            let units: UInt64
            if r & 0x80 != 0 {
                let b = UInt64(r & 0x7F)
                units = (ns / 1_000_000_000) << b + ((ns % 1_000_000_000) << b) / 1_000_000_000
            } else {
                var scale: UInt64 = 1
                for _ in 0..<(9 - Int(r)) { scale *= 10 }
                units = ns / scale
            }
            block(6, w32(UInt32(interface)) + w32(UInt32(units >> 32)) + w32(UInt32(units & 0xFFFF_FFFF))
                + w32(UInt32(p.frame.count)) + w32(UInt32(p.frame.count)) + p.frame)
        }
        let f = fopen(path, "wb")!
        fwrite(out, 1, out.count, f)
        fclose(f)
    }

    /// A minimal pcapng file: section header, one interface (nanosecond resolution), enhanced packets.
    public static func writePcapng(_ packets: [Conversation.Packet], linkType: LinkType, to path: String) {
        var out: [UInt8] = []
        func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        func block(_ type: UInt32, _ body: [UInt8]) {
            var b = body
            while b.count % 4 != 0 { b.append(0) }
            let len = UInt32(12 + b.count)
            out += le32(type) + le32(len) + b + le32(len)
        }
        block(0x0A0D0D0A, le32(0x1A2B3C4D) + le16(1) + le16(0) + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        // if_tsresol option (code 9) = 9: nanoseconds.
        block(1, le16(UInt16(linkType.dlt)) + le16(0) + le32(262144) + le16(9) + le16(1) + [9, 0, 0, 0] + le16(0) + le16(0))
        for p in packets {
            // As the 64 bits a file states (a negative time writes a time past 2262).
            let ts = UInt64(bitPattern: p.timestamp.nanoseconds)
            block(6, le32(0) + le32(UInt32(ts >> 32)) + le32(UInt32(ts & 0xFFFF_FFFF)) + le32(UInt32(p.frame.count))
                + le32(UInt32(p.frame.count)) + p.frame)
        }
        let f = fopen(path, "wb")!
        fwrite(out, 1, out.count, f)
        fclose(f)
    }
}
