import PacketCapture
import TCPReassembly
import TLSDecryption

/// Accounting for one data transfer; a class so the control session and the data connection
/// update the same record.
final class TransferTracker {
    var summary: TransferSummary
    var channel: DataChannel?
    /// What a SIZE reply just before said of the same file: the size to expect when the 150
    /// announces none (pure-ftpd's does not).
    var sizeFromSIZE: Int?
    init(_ summary: TransferSummary) { self.summary = summary }
}

/// A data connection matched to the announcement that opened it. Counts bytes by sequence
/// progress, so retransmissions are not counted twice and nothing is buffered.
final class DataChannel {
    unowned let session: ControlSession
    let mode: String
    let ftpClientSide: Endpoint   // the data connection's endpoint on the FTP client's host
    let ftpServerSide: Endpoint
    // The tracker owns the channel; the channel only points back.
    weak var tracker: TransferTracker?
    private var highestFromClient: UInt32?
    private var highestFromServer: UInt32?
    var bytesFromClient = 0
    var bytesFromServer = 0
    /// Bytes of each direction the capture did not show (lost by the capture, or cut by its
    /// snap length), between the first byte it showed and the highest.
    private(set) var uncapturedFromClient = UncapturedBytes()
    private(set) var uncapturedFromServer = UncapturedBytes()
    /// How far each direction is known to have gone past the highest byte the capture showed of
    /// it (nil: not past), by its receiver's acknowledgment or the sequence number of a later
    /// segment without bytes: the end of a transfer whose last segments the capture lost, with
    /// its FIN.
    private var reachedPastClient: UInt32?
    private var reachedPastServer: UInt32?
    /// Which side closed or reset the connection first.
    private var firstCloseFromClient: Bool?
    /// The side receiving the file closed the connection first: the transfer was cut short
    /// there (a client aborting a download), not ended by the sender.
    var closedByReceiver: Bool {
        guard let client = firstCloseFromClient else { return false }
        return client == (bytesFromServer >= bytesFromClient)
    }
    /// Which side sent the opening SYN, until its first acknowledgment (the handshake's).
    private var awaitingHandshakeAck: Bool?
    /// Each direction's first bytes, to tell what was transferred.
    private var headFromClient = StreamHead()
    private var headFromServer = StreamHead()
    /// Each direction put in order when `--hash` or `--extract` asks (nil otherwise, and once finished).
    private var streamFromClient: TransferStream?
    private var streamFromServer: TransferStream?
    /// The digests of the direction that carried the file, once the connection ended.
    private(set) var digests: TransferDigests?
    private let extractor: FileExtractor?
    /// The file the connection carried, written and waiting for its transfer's name, and
    /// whether it holds every byte from the SYN to the FIN.
    private var written: (file: ExtractionFile, whole: Bool)?
    var first: Timestamp
    var last: Timestamp
    /// The numbers (as `ReplyEvent.frame`) of the first and latest packets that carried the
    /// connection's bytes; 0 before any.
    private(set) var firstFrame = 0
    private(set) var lastFrame = 0

    init(session: ControlSession, mode: String, ftpClientSide: Endpoint, ftpServerSide: Endpoint, at ts: Timestamp,
         hashes: TransferHashes = [], extractor: FileExtractor? = nil,
         decrypting: (keyLog: TLSKeyLogSource, sessions: TLSSessionCache)? = nil,
         maxBufferedBytes: Int = 1 << 20, deflated: Bool = false) {
        self.session = session; self.mode = mode
        self.ftpClientSide = ftpClientSide; self.ftpServerSide = ftpServerSide
        self.extractor = extractor
        self.deflated = deflated
        first = ts; last = ts
        // With a key log every data connection is put in order: one that turns out to be TLS
        // is decrypted from its first byte. In MODE Z every one is, to be inflated: its size,
        // content type and digests are the file's, not those of its deflated bytes.
        tls = decrypting.map { DataTLS(keyLog: $0.keyLog, sessions: $0.sessions) }
        if !hashes.isEmpty || extractor != nil || tls != nil || deflated {
            streamFromClient = TransferStream(hashes: hashes, file: extractor?.newFile(), maxBufferedBytes: maxBufferedBytes,
                                              tls: tls, fromClient: true, deflated: deflated)
            streamFromServer = TransferStream(hashes: hashes, file: extractor?.newFile(), maxBufferedBytes: maxBufferedBytes,
                                              tls: tls, fromClient: false, deflated: deflated)
        }
    }

    /// Opened in MODE Z: the connection carries the file deflated.
    let deflated: Bool
    /// MODE Z, once the connection ended: the file's size inflated (nil unless the deflated
    /// stream was read to its end), its first bytes, and whether it inflated past the limit.
    private(set) var inflated: (bytes: Int?, head: [UInt8], tooLarge: Bool)?

    private let tls: DataTLS?
    /// The plaintext a decrypted TLS connection carried each way, once it has ended; nil for
    /// one not decrypted (clear text, or TLS the key log could not open).
    private(set) var decrypted: (fromClient: Int, fromServer: Int, head: [UInt8])?

    /// The connection ended (FIN both ways, RST, its ports taken by another): its digests are
    /// settled and its file named, once a transfer claimed it.
    func close() {
        isClosed = true
        finishStreams()
        tracker?.settleFile()
        twin?.close()
    }

    /// The same connection as the other session of a server-to-server (FXP) transfer sees it.
    var twin: DataChannel?
    /// The connection ended (both FINs, a reset): nothing more will be counted on it.
    private(set) var isClosed = false

    /// Settles the digests and the file with what was received; a hole still open makes the
    /// digests none and leaves a hole in the file.
    func finishStreams() {
        guard var client = streamFromClient, var server = streamFromServer else { return }
        streamFromClient = nil; streamFromServer = nil
        let fromClient = client.finish(), fromServer = server.finish()
        // A TLS connection's file is its plaintext, whole only if every record opened.
        var complete = true
        if let tls, tls.mode == .tls, tls.decryptor.status == .decrypting {
            let serverWays = server.plaintextBytes >= client.plaintextBytes
            decrypted = (client.plaintextBytes, server.plaintextBytes, serverWays ? server.plaintextHead : client.plaintextHead)
            complete = tls.decryptor.outcome == "decrypted"
        }
        let serverCarried = decrypted.map { $0.fromServer >= $0.fromClient } ?? (bytesFromServer >= bytesFromClient)
        digests = complete ? (serverCarried ? fromServer.digests : fromClient.digests) : nil
        if let z = (serverCarried ? server : client).inflated {
            inflated = (z.state == .ended && (serverCarried ? fromServer : fromClient).whole ? z.bytes : nil, z.head, z.state == .tooLarge)
        }
        guard let extractor, let clientFile = client.file, let serverFile = server.file else { return }
        extractor.discard(serverCarried ? clientFile : serverFile)
        written = serverCarried ? (serverFile, fromServer.whole && complete) : (clientFile, fromClient.whole && complete)
    }

    /// Gives the written file its name, once: after the transfer that claimed the connection,
    /// or with `command` nil for one no command claimed. Nil when nothing was written.
    func keepFile(command: String?, path: String?) -> (path: String, whole: Bool)? {
        guard let extractor, let (file, whole) = written else { return nil }
        written = nil
        let name = FileExtractor.name(opened: first, client: ftpClientSide, server: ftpServerSide, command: command, path: path)
        return extractor.keep(file, as: name).map { ($0, whole) }
    }

    /// Whether a SYN (without ACK) opens another connection on this one's ports: one sent
    /// again before any data has the number the first had.
    func isNewConnection(syn segment: TCPSegment) -> Bool {
        let start = SequenceNumber.advance(segment.sequence, by: 1)
        let highest = segment.source == ftpClientSide ? highestFromClient : highestFromServer
        return highest.map { $0 != start } ?? false
    }

    func receive(_ segment: TCPSegment, at ts: Timestamp, frame: Int) {
        twin?.receive(segment, at: ts, frame: frame)
        last = ts
        let fromClient = segment.source == ftpClientSide
        if firstCloseFromClient == nil, segment.flags.contains(.fin) || segment.flags.contains(.rst) { firstCloseFromClient = fromClient }
        if streamFromClient != nil { order(segment, fromClient: fromClient) }
        let length = segment.payload.count + segment.missingPayload
        var start = segment.sequence
        if segment.flags.contains(.syn) {
            start &+= 1
            if fromClient { headFromClient.starts(at: start) } else { headFromServer.starts(at: start) }
            awaitingHandshakeAck = segment.flags.contains(.ack) ? nil : fromClient
        }
        // A direction the capture never shows (it holds one side of the connection) starts
        // where the other side's handshake acknowledged it: from there its acknowledgments
        // count the bytes sent. Only the handshake's: a later acknowledgment may be past bytes.
        if segment.flags.contains(.ack), fromClient ? highestFromServer == nil : highestFromClient == nil,
           segment.flags.contains(.syn) || (awaitingHandshakeAck == fromClient && length == 0) {
            if fromClient { highestFromServer = segment.acknowledgment } else { highestFromClient = segment.acknowledgment }
        }
        if segment.flags.contains(.ack), awaitingHandshakeAck == fromClient, !segment.flags.contains(.syn) { awaitingHandshakeAck = nil }
        if !segment.payload.isEmpty {
            if fromClient { headFromClient.take(segment.payload, at: start) } else { headFromServer.take(segment.payload, at: start) }
        }
        let end = SequenceNumber.advance(start, by: length)
        // A segment without bytes (an ACK, a reset) past the highest byte carries none: its
        // number says how far the sender went, its FIN perhaps included, as an acknowledgment would.
        if length == 0, !segment.flags.contains(.syn), !segment.flags.contains(.fin),
           let h = fromClient ? highestFromClient : highestFromServer, SequenceNumber.distance(from: h, to: start) > 0 {
            noteReached(start, fromClient: fromClient, at: ts)
        } else if fromClient {
            let base = highestFromClient ?? start
            let ahead = SequenceNumber.distance(from: base, to: end)
            if highestFromClient == nil || ahead > 0 {
                bytesFromClient += max(0, SequenceNumber.distance(from: base, to: end))
                highestFromClient = end
            }
            if start != base || segment.missingPayload > 0, !segment.flags.contains(.rst) {
                Self.account(&uncapturedFromClient, start: start, base: base, captured: segment.payload.count, length: length)
            }
        } else {
            let base = highestFromServer ?? start
            let ahead = SequenceNumber.distance(from: base, to: end)
            if highestFromServer == nil || ahead > 0 {
                bytesFromServer += max(0, SequenceNumber.distance(from: base, to: end))
                highestFromServer = end
            }
            if start != base || segment.missingPayload > 0, !segment.flags.contains(.rst) {
                Self.account(&uncapturedFromServer, start: start, base: base, captured: segment.payload.count, length: length)
            }
        }
        // The receiver acknowledging past the highest byte of the other direction: bytes the
        // capture lost at its end. Usually an acknowledgment trails the data: one comparison.
        if segment.flags.contains(.ack), !segment.flags.contains(.rst) {
            let ack = segment.acknowledgment
            if let h = fromClient ? highestFromServer : highestFromClient, SequenceNumber.distance(from: h, to: ack) > 0 {
                noteReached(ack, fromClient: !fromClient, at: ts)
            }
        }
        if length > 0 {
            lastFrame = frame
            if firstFrame == 0 { firstFrame = frame }
            tracker?.note(self, at: ts)
        } else if segment.flags.contains(.fin) {
            // A FIN past the highest byte says how far the data went even when the capture
            // lost its last segments: the transfer's size, with those bytes missing.
            tracker?.noteBytes(self)
        }
    }

    /// What a segment out of the usual order says of the bytes the capture did not show: it
    /// starts past the highest byte `base` (a hole before it), repeats bytes behind it (a
    /// retransmission, which may fill a hole), or lost its end to the snap length.
    private static func account(_ holes: inout UncapturedBytes, start: UInt32, base: UInt32, captured: Int, length: Int) {
        let behind = SequenceNumber.distance(from: start, to: base)
        if behind < 0 {
            holes.skipped(from: base, length: -behind)
        } else if behind > 0 {
            holes.shown(from: start, length: min(captured, behind))
        }
        // The part of this segment beyond what was already highest that the snap length cut.
        let cutFrom = max(captured, behind)
        if length > cutFrom { holes.skipped(from: SequenceNumber.advance(start, by: cutFrom), length: length - cutFrom) }
    }

    private func order(_ segment: TCPSegment, fromClient: Bool) {
        if fromClient {
            streamFromClient?.receive(segment)
            if segment.flags.contains(.ack) { streamFromServer?.acknowledged(segment.acknowledgment) }
        } else {
            streamFromServer?.receive(segment)
            if segment.flags.contains(.ack) { streamFromClient?.acknowledged(segment.acknowledgment) }
        }
    }

    func releaseHeads() { headFromClient = StreamHead(); headFromServer = StreamHead() }

    /// `fromClient`'s direction went at least to `sequence`, past its highest byte shown.
    private func noteReached(_ sequence: UInt32, fromClient: Bool, at ts: Timestamp) {
        guard let h = fromClient ? highestFromClient : highestFromServer,
              SequenceNumber.distance(from: h, to: sequence) < 1 << 30 else { return }
        let known = fromClient ? reachedPastClient : reachedPastServer
        let step = SequenceNumber.distance(from: known ?? h, to: sequence)
        guard step > 0 else { return }
        if fromClient { reachedPastClient = sequence } else { reachedPastServer = sequence }
        // A step of more than a FIN: bytes the capture did not show had been sent by now, and
        // the transfer lasted at least this long.
        if step > 1, let tracker { tracker.note(self, at: ts) } else { tracker?.noteBytes(self) }
    }

    /// The bytes of a direction known to have been sent past the highest the capture showed.
    /// One sequence number of them is the FIN when the sender closed: a step of one is the FIN
    /// alone; a longer one is the FIN and bytes, or bytes whose FIN is still to come, so the
    /// count is the least it can be and `orOneMore` says it may be one more.
    func unseenEnd(fromClient: Bool) -> (bytes: Int, orOneMore: Bool) {
        guard let ack = fromClient ? reachedPastClient : reachedPastServer,
              let h = fromClient ? highestFromClient : highestFromServer else { return (0, false) }
        let past = SequenceNumber.distance(from: h, to: ack)
        guard past > 1 else { return (0, false) }
        return (past - 1, true)
    }

    /// Whether the FTP client opened the connection with a TLS handshake record: after PROT P
    /// it is the TLS client whichever side connected (RFC 4217 §9).
    var carriesTLS: Bool {
        let h = headFromClient.bytes
        return h.count >= 3 && h[0] == 22 && h[1] == 3 && h[2] <= 4
    }

    /// Drops what was written of the connection: TLS records, not the file.
    func discardFile() {
        guard let extractor, let (file, _) = written else { return }
        written = nil
        extractor.discard(file)
    }

    /// What the transfer carried: told from the direction that carried more. In MODE Z its
    /// first bytes are deflated: nothing until the connection ended and they were inflated.
    var contentType: String? {
        if deflated { return inflated.flatMap { ContentType.of($0.head) } }
        return ContentType.of(bytesFromServer >= bytesFromClient ? headFromServer.bytes : headFromClient.bytes)
    }
}

/// The first bytes of one direction of a data connection, in order from the byte after its SYN:
/// the start of the file. Without the SYN nothing is kept (the capture may have joined in the
/// middle of the file); a segment that comes early waits for nothing, so after a reordering
/// the head may end where the first missing segment began.
struct StreamHead {
    private(set) var bytes: [UInt8] = []
    /// The sequence number of the next byte wanted; nil before the SYN and once enough is kept.
    private var next: UInt32?

    mutating func starts(at sequence: UInt32) {
        if bytes.isEmpty { next = sequence }
    }

    mutating func take(_ payload: UnsafeRawBufferPointer, at sequence: UInt32) {
        guard let n = next, n == sequence else { return }
        bytes.append(contentsOf: payload.prefix(ContentType.sniffLength - bytes.count))
        next = bytes.count < ContentType.sniffLength ? SequenceNumber.advance(n, by: payload.count) : nil
    }
}

extension TransferTracker {
    func noteBytes(_ channel: DataChannel) {
        let endFromClient = channel.unseenEnd(fromClient: true), endFromServer = channel.unseenEnd(fromClient: false)
        summary.bytesToServer = channel.bytesFromClient + endFromClient.bytes
        summary.bytesToClient = channel.bytesFromServer + endFromServer.bytes
        summary.uncapturedBytes = channel.uncapturedFromClient.count + channel.uncapturedFromServer.count
            + endFromClient.bytes + endFromServer.bytes
        // The size the server announced tells whether the last sequence number acknowledged
        // was a byte or the FIN: the one more is kept if it makes the size match.
        let download = summary.bytesToClient >= summary.bytesToServer
        guard download ? endFromServer.orOneMore : endFromClient.orOneMore, summary.sizeMatches == false else { return }
        func add(_ n: Int) {
            if download { summary.bytesToClient += n } else { summary.bytesToServer += n }
            summary.uncapturedBytes += n
        }
        add(1)
        if summary.sizeMatches != true { add(-1) }
    }

    func note(_ channel: DataChannel, at ts: Timestamp) {
        noteBytes(channel)
        if summary.dataStart == nil { summary.dataStart = channel.first }
        summary.dataEnd = ts
    }

    /// Sets the transfer's content type from its data connection's first bytes, once some were
    /// seen, and lets the bytes go: a session that moves ten thousand files keeps no heads.
    func settleContentType() {
        noteTLS()
        guard summary.mimeType == nil, !isResumed, !summary.tls, let channel else { return }
        summary.mimeType = channel.contentType
        if summary.mimeType != nil { channel.releaseHeads() }
    }

    /// The session ends: the transfer's digests and file, its connection finished first if it
    /// is still open.
    func settleStreams() {
        guard let channel else { return }
        if channel.firstFrame > 0 { summary.dataFrames = (channel.firstFrame, channel.lastFrame) }
        channel.finishStreams()
        noteTLS()
        noteInflated()
        summary.digests = isResumed || (summary.tls && !summary.tlsDecrypted) ? nil : channel.digests
        settleFile()
    }

    /// MODE Z: the file's size inflated, and its content type from its inflated first bytes.
    private func noteInflated() {
        guard let channel, let z = channel.inflated else { return }
        summary.inflatedBytes = z.bytes
        if summary.mimeType == nil, !isResumed { summary.mimeType = ContentType.of(z.head) }
    }

    /// A TLS data connection: its transfer says so, and once the key log has opened it, what
    /// it carried is the plaintext — its size, its content type.
    private func noteTLS() {
        guard let channel else { return }
        if channel.carriesTLS { summary.tls = true }
        guard let d = channel.decrypted, !summary.tlsDecrypted else { return }
        summary.tlsDecrypted = true
        summary.bytesToServer = d.fromClient
        summary.bytesToClient = d.fromServer
        if summary.mimeType == nil, !isResumed { summary.mimeType = ContentType.of(d.head) }
    }

    /// Names the file the data connection carried after this transfer, once it has ended.
    /// A resumed transfer's file is a part of one, never whole.
    func settleFile() {
        noteTLS()
        noteInflated()
        if summary.tls && !summary.tlsDecrypted { channel?.discardFile(); return }
        guard let channel, let kept = channel.keepFile(command: summary.command, path: summary.path) else { return }
        summary.extractedPath = kept.path
        summary.extractedWhole = kept.whole && !isResumed
    }

    /// A transfer after REST moves the file from an offset: its first bytes are not the
    /// file's, and a digest of its bytes is of part of the file.
    private var isResumed: Bool { (summary.restartOffset ?? 0) > 0 }

    func attach(_ channel: DataChannel) {
        self.channel = channel
        channel.tracker = self
        summary.mode = channel.mode
        summary.dataConnection = (channel.ftpClientSide, channel.ftpServerSide)
        summary.dataStart = channel.first
        if channel.bytesFromClient + channel.bytesFromServer > 0 { note(channel, at: channel.last) }
    }
}
