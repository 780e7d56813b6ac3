import Foundation
import FTPSession
import PacketCapture
import TestSupport
import Testing

/// pcapng files whose interfaces differ in link type (Wireshark's `-i eth0 -i tun0 -i any`) or
/// snap length (mergecap): libpcap stops at the second interface; ftpscope reads on with a
/// reader of its own, each packet decoded as its interface's link type.
@Suite struct MixedLinkTypeTests {
    /// A login, a passive listing and QUIT, the same bytes on every link layer.
    private func session(_ link: FrameBuilder.Link, step: Int64 = 1_000_000) -> Conversation {
        var c = Conversation(link: link)
        c.step = step
        c.handshake(); c.server("220-Welcome\r\n220 Ready.\r\n")
        c.client("USER anonymous\r\n"); c.server("331 Password.\r\n")
        c.client("PASS x\r\n"); c.server("230 In.\r\n")
        c.client("PASV\r\n"); c.server("227 Entering Passive Mode (192,0,2,1,19,137).\r\n")
        c.client("STAT\r\n"); c.server("211-Status\r\n 211 is not the end\r\n211 End\r\n")
        c.client("QUIT\r\n"); c.server("221 Bye.\r\n")
        c.close()
        return c
    }

    /// Packet k on interface k mod 4 (interface 0 alone before packet `later` when the others
    /// are described only then), the same session through four link layers.
    private func mixed(step: Int64 = 1_000_000, resolutions: [UInt8] = [9, 9, 9, 9], later: Int? = nil,
                       vlan: Bool = true, bigEndian: Bool = false) -> (path: String, reference: String) {
        let links: [(FrameBuilder.Link, LinkType)] = [(.ethernet(vlans: vlan ? [7] : []), .ethernet), (.raw, .raw),
                                                      (.linuxSLL, .linuxSLL), (.linuxSLL2, .linuxSLL2)]
        let copies = links.map { session($0.0, step: step) }
        let packets = copies[0].packets.indices.map { k in
            let i = k < (later ?? 0) ? 0 : k % 4
            return (interface: i, packet: copies[i].packets[k])
        }
        let path = CaptureFile.temporaryPath("mixed.pcapng")
        CaptureFile.writePcapng(packets, interfaces: zip(links, resolutions).map { CaptureFile.PcapngInterface($0.0.1, resolution: $0.1) },
                                upFront: later == nil ? nil : 1, restBefore: later ?? 0, bigEndian: bigEndian, to: path)
        let reference = CaptureFile.temporaryPath("reference.pcap")
        try? CaptureFile.write([copies[0]], to: reference, nanosecond: true)
        return (path, reference)
    }

    /// Interfaces described up front (libpcap refuses the file at its first packet), or the
    /// others only after some packets (libpcap hands those over first, and ftpscope goes on from
    /// the packet after them), in either byte order: every record as from one link layer.
    @Test(arguments: ["up front", "described later", "big-endian"])
    func everyPacketIsReadAsItsInterfaceSaysWhereLibpcapStops(_ layout: String) throws {
        let (path, reference) = mixed(later: layout == "described later" ? 9 : nil,
                                      bigEndian: layout == "big-endian")
        let run = try AnalysisRun.of(path)
        let expected = try AnalysisRun.of(reference)
        #expect(run.outcome?.damage == nil, "\(String(describing: run.outcome?.damage))")
        #expect(run.jsonLines() == expected.jsonLines())
        #expect(run.replies.count == 6 && run.summary.packets == expected.summary.packets)
        #expect(run.summary.unsupportedLinkType == 0 && run.summary.malformed.isEmpty)
    }

    /// A BPF filter applies to every interface, compiled for each link type, and the packets
    /// libpcap had already filtered are not handed over twice. (Without VLAN tags: BPF's `tcp`
    /// matches no tagged frame unless the filter says `vlan`.)
    @Test(arguments: ["up front", "described later"])
    func theFilterAppliesOnEveryInterface(_ layout: String) throws {
        let (path, reference) = mixed(later: layout == "described later" ? 9 : nil, vlan: false)
        let filter = "tcp[tcpflags] & tcp-push != 0 and src port 21"
        let run = try AnalysisRun.of(path, filter: filter)
        let expected = try AnalysisRun.of(reference, filter: filter)
        #expect(run.summary.packets == expected.summary.packets && run.summary.packets == 6)
        #expect(run.replies.map(\.reply.code) == expected.replies.map(\.reply.code))
    }

    /// Two captures of different snap lengths merged (mergecap): one link type, two interfaces
    /// libpcap also refuses.
    @Test func interfacesOfDifferentSnapLengths() throws {
        let c = session(.ethernet())
        let packets = c.packets.indices.map { k in (interface: k % 2, packet: c.packets[k]) }
        let path = CaptureFile.temporaryPath("snaplens.pcapng")
        CaptureFile.writePcapng(packets, interfaces: [CaptureFile.PcapngInterface(.ethernet, snapLength: 262_144),
                                                      CaptureFile.PcapngInterface(.ethernet, snapLength: 65_535)], to: path)
        let reference = CaptureFile.temporaryPath("reference.pcap")
        try CaptureFile.write([c], to: reference, nanosecond: true)
        let run = try AnalysisRun.of(path)
        #expect(run.outcome?.damage == nil, "\(String(describing: run.outcome?.damage))")
        #expect(run.jsonLines() == (try AnalysisRun.of(reference)).jsonLines())
    }

    /// Each interface's timestamps in its own units: microseconds, milliseconds, 2^-6 seconds.
    @Test func eachInterfaceKeepsItsOwnTimestampUnits() throws {
        let (path, reference) = mixed(step: 15_625_000, resolutions: [9, 6, 3, 0x86])
        let run = try AnalysisRun.of(path)
        let expected = try AnalysisRun.of(reference)
        #expect(run.replies.map(\.timestamp) == expected.replies.map(\.timestamp))
        #expect(run.sessions.map(\.last) == expected.sessions.map(\.last))
    }

    /// A file cut inside a block after the fallback took over: what came before is reported,
    /// and the cut is a truncation, as with any capture.
    @Test func aCutFileStillReportsWhatCameBefore() throws {
        let (path, _) = mixed()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes = bytes.prefix(bytes.count - 50)
        try bytes.write(to: URL(fileURLWithPath: path))
        let run = try AnalysisRun.of(path)
        guard case .truncated? = run.outcome?.damage else {
            Issue.record("expected truncation, got \(String(describing: run.outcome?.damage))"); return
        }
        #expect(run.replies.count == 6)
    }
}
