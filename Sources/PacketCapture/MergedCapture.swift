/// Several capture files read as one, their packets merged in time order as `mergecap` does
/// by default: a session that spans files rotated by `tcpdump -C` or `-G` stays one session,
/// and a transfer whose command is in one file and its data in the next stays one transfer.
///
/// Files are taken in the order of their first packet's time, not their names (a ring buffer
/// of `tcpdump -W` wraps; `-C` names `cap`, `cap1`, …, `cap10` sort out of order), and each is
/// opened only when the merge reaches that time. Files rotated one after another are then read
/// one at a time, so memory and open files do not grow with their number; files whose times
/// overlap (two links captured at once) are read side by side, the earliest packet first, the
/// earlier-starting file first on equal times.
public final class MergedCapture: PacketSource {
    private struct Member {
        let path: String
        /// The time of its first packet, before any filter.
        let first: Timestamp
        let linkType: LinkType
        let size: Int64
        var source: PcapSource?
        /// Its next packet, valid until its source is read again.
        var head: RawPacket?
    }

    public let linkType: LinkType
    public var isLive: Bool { false }
    public let fileSize: Int64?
    public private(set) var damageReadPast: [CaptureError] = []
    private var members: [Member]
    private let filter: String?
    private let secrets: String?
    /// Members before this one have been opened (and may have ended).
    private var opened = 0
    /// Members open with a packet waiting, by index.
    private var active: [Int] = []
    /// The member whose packet was handed out last: read on before the next choice, so that
    /// packet's bytes stay valid until then.
    private var served: Int?
    /// Bytes of the files already read to their end, for progress.
    private var finishedBytes: Int64 = 0
    /// The one file open while the next is not yet due, read without the merge's bookkeeping
    /// (which cost 300 instructions a packet on the control-heavy capture in parts; this path
    /// a timestamp comparison), with the link type its packets are given when not the merge's.
    /// Unmanaged: its member holds it, and a retain and release per packet cost 40 instructions.
    private var solo: (source: Unmanaged<PcapSource>, index: Int, linkType: LinkType?)?
    /// When the next file not yet opened begins.
    private var due = Timestamp(nanoseconds: .max)

    /// Opens each file once to learn its first packet's time, link type and embedded secrets,
    /// and checks that `filter` compiles for it. A file that cannot be opened fails the whole
    /// merge, as it fails a run over that file alone; a file without packets is left out, and one
    /// damaged before its first packet is damage read past.
    public init(paths: [String], filter: String?) throws(CaptureError) {
        precondition(!paths.isEmpty)
        var members: [(Member, Int)] = []
        var keyLog = ""
        var total: Int64 = 0
        var firstLinkType: LinkType?
        for (order, path) in paths.enumerated() {
            let source = try PcapSource.openFile(path)
            // Each file is opened again when its time comes: a pipe could not be.
            guard let size = source.fileSize else {
                throw .readFailed(path: source.name, reason: "files merged into one capture are read twice (once for the time "
                                  + "they begin), which a pipe or standard input cannot be: save it to a file first")
            }
            total += size
            if firstLinkType == nil { firstLinkType = source.linkType }
            let first: ReadResult
            do {
                first = try source.next()
            } catch {
                damageReadPast.append(error)
                finishedBytes += size
                continue
            }
            if let filter { try source.setFilter(filter) }
            if let text = source.embeddedTLSKeyLog() { keyLog += text.hasSuffix("\n") ? text : text + "\n" }
            guard case .packet(let p) = first else { finishedBytes += size; continue }
            members.append((Member(path: path, first: p.timestamp, linkType: source.linkType, size: size), order))
        }
        members.sort { ($0.0.first, $0.1) < ($1.0.first, $1.1) }
        self.members = members.map(\.0)
        self.linkType = self.members.first?.linkType ?? firstLinkType!
        self.fileSize = total
        self.filter = filter
        self.secrets = keyLog.isEmpty ? nil : keyLog
    }

    public func next() throws(CaptureError) -> ReadResult {
        if let (source, i, ownLinkType) = solo {
            // Read through the unmanaged reference with nothing but a trivial value coming back
            // (a `Result` holding the error cost 70 instructions a packet in copies of it).
            var failure: CaptureError?
            let read = source._withUnsafeGuaranteedRef { s -> ReadResult? in
                do throws(CaptureError) { return try s.next() } catch { failure = error; return nil }
            }
            if case .packet(var p)? = read {
                if p.timestamp < due {
                    if p.linkType == nil, let ownLinkType { p.linkType = ownLinkType }
                    return .packet(p)
                }
                // The next file's time has come: merge from this packet on.
                members[i].head = p
                solo = nil
                return merged()
            }
            if let failure { damageReadPast.append(failure) }
            solo = nil
            finish(i)
        }
        return merged()
    }

    private func merged() -> ReadResult {
        if let i = served {
            served = nil
            readOn(i)
        }
        var earliest = earliestActive()
        // A file joins the merge once the merge has reached its first packet's time.
        while opened < members.count, earliest.map({ members[opened].first <= members[$0].head!.timestamp }) ?? true {
            open(opened)
            opened += 1
            due = opened < members.count ? members[opened].first : Timestamp(nanoseconds: .max)
            earliest = earliestActive()
        }
        guard let i = earliest else { return .end }
        var packet = members[i].head!
        let ownLinkType = members[i].linkType != linkType ? members[i].linkType : nil
        if packet.linkType == nil, let ownLinkType { packet.linkType = ownLinkType }
        if active.count == 1, packet.timestamp < due {
            solo = (.passUnretained(members[i].source!), i, ownLinkType)
        } else {
            served = i
        }
        return .packet(packet)
    }

    /// The active member with the earliest packet; the earlier member on equal times.
    private func earliestActive() -> Int? {
        guard var best = active.first else { return nil }
        for i in active.dropFirst() {
            let t = members[i].head!.timestamp, b = members[best].head!.timestamp
            if t < b || (t == b && i < best) { best = i }
        }
        return best
    }

    private func open(_ i: Int) {
        do {
            let source = try PcapSource.openFile(members[i].path)
            if let filter { try source.setFilter(filter) }
            members[i].source = source
            active.append(i)
            readOn(i)
        } catch {
            // Read before; gone or changed since.
            damageReadPast.append(error)
            finishedBytes += members[i].size
        }
    }

    private func readOn(_ i: Int) {
        do {
            if case .packet(let p) = try members[i].source!.next() {
                members[i].head = p
                return
            }
        } catch {
            damageReadPast.append(error)
        }
        finish(i)
    }

    private func finish(_ i: Int) {
        members[i].source = nil
        members[i].head = nil
        finishedBytes += members[i].size
        active.removeAll { $0 == i }
    }

    /// Files open at this moment: one at a time for files that follow each other in time.
    public var filesOpen: Int { active.count }

    public var fileOffset: Int64? {
        active.reduce(finishedBytes) { $0 + (members[$1].source?.fileOffset ?? 0) }
    }

    public func setNonblocking() {}
    public func waitForPackets(milliseconds: Int32) -> Bool { false }
    public func embeddedTLSKeyLog() -> String? { secrets }
}
