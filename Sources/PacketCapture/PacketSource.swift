/// What the analysis loop reads packets from: one capture (`PcapSource`, a file or an
/// interface) or several files read as one (`MergedCapture`). The loop is specialised for each
/// kind, so a single file pays nothing for the other.
public protocol PacketSource: AnyObject {
    /// The link type of packets that do not carry their own (`RawPacket.linkType`).
    var linkType: LinkType { get }
    var isLive: Bool { get }
    /// Bytes consumed so far and in all, for progress; nil where unknown (a pipe, an interface).
    var fileOffset: Int64? { get }
    var fileSize: Int64? { get }
    /// The next packet; its bytes are valid until the next call.
    func next() throws(CaptureError) -> ReadResult
    /// Live sources: stop blocking, and wait for packets (false when none came).
    func setNonblocking()
    func waitForPackets(milliseconds: Int32) -> Bool
    /// Damage read past rather than stopped at: a merged capture goes on with its other files
    /// after one is cut short. Reported with the outcome, after what followed it was analyzed.
    var damageReadPast: [CaptureError] { get }
    /// TLS secrets the capture carries (pcapng Decryption Secrets Blocks), as key log text.
    func embeddedTLSKeyLog() -> String?
}

extension PcapSource: PacketSource {
    /// A single capture stops at its damage.
    public var damageReadPast: [CaptureError] { [] }
}
