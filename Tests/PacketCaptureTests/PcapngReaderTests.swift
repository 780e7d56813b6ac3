import PacketCapture
import Testing

/// The pcapng reader that takes over where libpcap stops (interfaces of different link types):
/// every packet before damage is handed over, and damage is a clear error, never a crash.
@Suite struct PcapngReaderTests {
    private func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    private func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    private func block(_ type: UInt32, _ body: [UInt8], length: UInt32? = nil, trailer: UInt32? = nil) -> [UInt8] {
        var b = body
        while b.count % 4 != 0 { b.append(0) }
        let len = UInt32(12 + b.count)
        return le32(type) + le32(length ?? len) + b + le32(trailer ?? len)
    }

    private var section: [UInt8] { block(0x0A0D0D0A, le32(0x1A2B3C4D) + le16(1) + le16(0) + [UInt8](repeating: 0xFF, count: 8)) }
    private func interface(_ dlt: UInt16) -> [UInt8] { block(1, le16(dlt) + le16(0) + le32(65535)) }
    private func packet(_ interface: UInt32, _ data: [UInt8], captured: UInt32? = nil) -> [UInt8] {
        block(6, le32(interface) + le32(0) + le32(1_000_000) + le32(captured ?? UInt32(data.count)) + le32(UInt32(data.count)) + data)
    }

    /// The packets of a file whose second interface libpcap refuses, then `damage`.
    private func read(_ damage: [UInt8]) throws -> (packets: [(LinkType?, Int)], error: CaptureError?) {
        let ip = [UInt8](repeating: 0x45, count: 1) + [UInt8](repeating: 0, count: 19)
        let bytes = section + interface(1) + interface(101) + packet(0, [UInt8](repeating: 0, count: 14) + ip)
            + packet(1, ip) + damage
        let source = try PcapSource.openBuffer(bytes)
        var out: [(LinkType?, Int)] = []
        do {
            while case .packet(let p) = try source.next() { out.append((p.linkType, p.bytes.count)) }
        } catch {
            return (out, error)
        }
        return (out, nil)
    }

    @Test func bothInterfacesPacketsAreHandedOverWithTheirLinkTypes() throws {
        let r = try read([])
        #expect(r.error == nil)
        #expect(r.packets.map(\.0) == [.ethernet, .raw] && r.packets.map(\.1) == [34, 20])
    }

    @Test(arguments: [
        ("trailer disagrees", "block lengths disagree"),
        ("length not a multiple of four", "bad block length"),
        ("length past 64 MiB", "bad block length"),
        ("unknown interface", "packet of interface 7, which was never described"),
        ("captured past the block", "packet data past its block"),
        ("option past the block", "interface option past its block"),
        ("cut short", "a block cut short"),
    ])
    func damageIsAClearErrorAfterEveryPacketBeforeIt(_ damage: String, _ message: String) throws {
        let bytes: [UInt8]
        switch damage {
        case "trailer disagrees": bytes = block(6, [UInt8](repeating: 0, count: 24), trailer: 99)
        case "length not a multiple of four": bytes = le32(6) + le32(30) + [UInt8](repeating: 0, count: 22)
        case "length past 64 MiB": bytes = le32(6) + le32(1 << 30) + [UInt8](repeating: 0, count: 8)
        case "unknown interface": bytes = packet(7, [1, 2, 3, 4])
        case "captured past the block": bytes = packet(0, [1, 2, 3, 4], captured: 4000)
        case "option past the block": bytes = block(1, le16(1) + le16(0) + le32(65535) + le16(9) + le16(200) + [6, 0, 0, 0])
        default: bytes = Array(packet(0, [UInt8](repeating: 0, count: 40)).prefix(30))
        }
        let r = try read(bytes)
        #expect(r.packets.count == 2, "\(damage)")
        #expect(r.error?.description.contains(message) == true, "\(damage): \(String(describing: r.error))")
    }
}
