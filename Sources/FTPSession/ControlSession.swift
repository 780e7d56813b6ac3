import FTPProtocol
import TLSDecryption
import PacketCapture
import ReplyCatalog
import TCPReassembly

/// A command waiting for its reply, or the greeting the server owes on connect.
/// Few reference-counted fields: a pending command is copied and destroyed once or twice per
/// reply, and each reference is a retain and a release. Word-sized fields first and the flags
/// packed at the end (Swift lays structs out in declaration order): 56 bytes a command, not 80.
struct PendingCommand {
    var verb: String?
    /// The argument as sent.
    var rawArgument: [UInt8]?
    var timestamp: Timestamp
    var transfer: TransferTracker?
    /// The command's place among the session's commands (0 for the greeting). 32 bits, with
    /// `acknowledged` beside it: a pending command stays 56 bytes.
    var number: Int32 = 0
    /// How far the client had acknowledged the server's bytes when it sent the command (not
    /// known for the greeting, nor for what a connection on another port sent before it was
    /// told FTP): more than for the command before says it had that one's reply.
    var acknowledged: UInt32 = 0
    var kind: Verb = .other
    /// PASS without --show-passwords: the argument is shown as `****`.
    var masked = false
    var isGreeting = false
    var gotPreliminary = false
    /// ABOR that took over a running transfer: it may get the transfer's closing reply first.
    var abortAwaitingTransferReply = false
    /// Anomalies found on the command that its reply should carry too.
    var carried: CarriedAnomalies = []
    var hasAcknowledgment = false
    /// The client had then received server bytes the capture did not show.
    var acknowledgedUnseen = false

    /// The argument for display.
    var argument: [UInt8]? { masked ? Self.maskedArgument : rawArgument }

    /// The argument for display, moved out: the reply that answers a command is its last use,
    /// and a copy was a retain and a release of the (by then cold) array per reply.
    mutating func takeArgument() -> [UInt8]? { masked ? Self.maskedArgument : rawArgument.take() }
    /// What a masked PASS argument shows: one array for all, not one built per login.
    static let maskedArgument: [UInt8] = Array("****".utf8)
}

/// A transfer command an ABOR took over, kept apart from the session's fields until its
/// closing reply (see `ControlSession.abortedTransfer`).
final class AbortedTransfer {
    let command: PendingCommand
    init(_ command: PendingCommand) { self.command = command }
}

/// A server line without a reply code, held until the client's next move says whether it
/// answered (see `ControlSession.handleReply`). Boxed: one reference per session, set rarely.
final class CodelessLine {
    let reply: Reply
    let timestamp: Timestamp
    let frame: Int
    init(reply: Reply, timestamp: Timestamp, frame: Int) { self.reply = reply; self.timestamp = timestamp; self.frame = frame }
}

extension Array where Element == PendingCommand {
    /// `removeFirst()` without its copy: the standard library's copied the head out (a retain
    /// per reference) and destroyed the slot through the generic array witness (a release per
    /// reference), a third of all replies in pipelined sessions. The head is moved out, the
    /// rest moved down, and the freed last slot holds a command without references until
    /// `removeLast()` drops it.
    mutating func takeFirst() -> PendingCommand {
        precondition(!isEmpty)
        let n = count
        let head = withUnsafeMutableBufferPointer { b -> PendingCommand in
            let base = b.baseAddress!
            let head = base.move()
            base.moveInitialize(from: base + 1, count: n - 1)
            (base + (n - 1)).initialize(to: PendingCommand(verb: nil, rawArgument: nil, timestamp: .zero, transfer: nil))
            return head
        }
        removeLast()
        return head
    }
}

/// Command anomalies that the reply answering the command repeats.
struct CarriedAnomalies: OptionSet {
    let rawValue: UInt8
    static let activeAddressDiffers = CarriedAnomalies(rawValue: 1)
    static let invalidPortCommand = CarriedAnomalies(rawValue: 2)

    var names: [String] {
        var out: [String] = []
        if contains(.activeAddressDiffers) { out.append(SessionAnomaly.activeAddressDiffers.rawValue) }
        if contains(.invalidPortCommand) { out.append(SessionAnomaly.invalidPortCommand.rawValue) }
        return out
    }
}

/// Analyzer-wide facts a session consults: login failures per client address and where to
/// register expected data connections.
protocol SessionHost: AnyObject {
    /// After the session's summary was emitted.
    func sessionEnded(_ identity: SessionIdentity)
    func recordLoginFailure(from address: IPAddress) -> Int
    func expectDataConnection(at endpoint: Endpoint, session: ControlSession, mode: String, at ts: Timestamp)
    /// The session's next data connection between its hosts, whatever its ports: the client's
    /// to the server's host (`passive`, until the request's reply names the port) or the
    /// server's to the client's (active, after a 200 to a command the capture lost).
    func expectConnectionByHosts(of session: ControlSession, passive: Bool, at ts: Timestamp)
    /// The reply named the port (or the session ended): the expectation by hosts is dropped.
    func expectationByHostsAnswered(of session: ControlSession, passive: Bool)
}

/// What every session of one analyzer shares: the reply buffers they borrow in turn (see
/// `ReplyBuffers`) and the totals of replies, commands and gaps, which sessions add to as
/// they handle them (counting from the emitted events copied each event to read it).
final class SessionsShared {
    var spare = ReplyBuffers()
    /// `--tls-keylog`: read by a session only when TLS begins.
    var tlsKeyLog: TLSKeyLogSource?
    /// The TLS 1.2 sessions this analyzer's connections set up, which its later ones resume.
    let tlsSessions = TLSSessionCache()
    var replies = 0
    var commands = 0
    /// Replies by the code's first digit (10 for none).
    var byFirstDigit = [Int](repeating: 0, count: 11)
    var anomalies: [String: Int] = [:]
    var gaps = 0
    var gapBytes = 0
    /// Bytes of data connections the capture did not show, over the transfers of ended sessions.
    var missingDataBytes = 0
    var bufferCapHits = 0
    /// `AnalyzerConfiguration.maxPendingCommands`.
    var maxPendingCommands = 1_000

    func count(anomalies found: [String]) {
        for a in found { count(anomaly: a) }
    }

    func count(anomaly: String) { anomalies[anomaly, default: 0] += 1 }
}

/// One FTP control connection: both streams, reply and command parsing, pairing, state,
/// transfers and anomalies. Fed reassembled bytes; emits records.
final class ControlSession {
    // Fields in the order a packet reads them: Swift lays a class out in declaration order,
    // and with 100,000 sessions open each packet's session is out of every cache. What every
    // packet, reply or command touches fills the first cache lines, which the split reader
    // prefetches (`Analyzer.prefetchedObjectLines`); summary material and rare state follow.
    let identity: SessionIdentity
    /// Where the session's own allocations lie, for the lookahead's last step
    /// (`Analyzer.Lookahead.satellites`): the identity object and its bytes, which every
    /// record reads and every reply retains, and the pending-command queue's buffer. Hints
    /// only, never dereferenced: a stale one costs a wasted prefetch.
    private(set) var satellites: (identity: UnsafeRawPointer, bytes: UnsafeRawPointer?, queue: UnsafeRawPointer?)
    // The analyzer owns its sessions and is the only caller of their methods, so it outlives
    // every call that reaches it; unowned(unsafe) spares the checked reference count per command.
    private unowned(unsafe) let host: SessionHost
    private let shared: SessionsShared

    var serverStream: StreamReassembler
    var clientStream: StreamReassembler
    /// The number (from 1, in the input's order, as Wireshark numbers frames) of the packet of
    /// this connection being read, or the last one read: the frame each record names. A
    /// session's own last packet rather than the input's, so that records flushed by an idle
    /// sweep or the end of input name the same frame however the input was split.
    var frame = 0
    /// The acknowledgment number of the client's packet being read (set as `frame` is).
    var clientAcknowledgment: UInt32?
    var clientAcknowledgedUnseen = false
    private var serverFramer: LineFramer
    private var clientFramer: LineFramer
    private var parser: ReplyParser
    // Usually one to three entries: a plain array is smaller per session than a Deque.
    private var queue: [PendingCommand] = []
    /// Set only after bytes were lost: which replies may then not answer the queue's head.
    private var lost = LostExchanges()
    var last: Timestamp
    /// When the server's last bytes arrived, and in which frame: a reply that a loss or the
    /// end completes ended there, not where the loss was found.
    private var serverBytesAt: Timestamp
    private var serverBytesFrame = 0
    private var replyCount = 0
    private var commandCount = 0
    private var codeCounts = CodeCounts()
    private var errors = 0

    private var login: SessionState = .connected
    private var renamePending = false
    private var restartOffset: Int?
    private var transferInProgress = false
    private var closed = false
    /// An AUTH waits for its reply: TLS may begin even if the capture lost the 234.
    private var authWaiting = false
    /// The server has spoken: the capture showed its bytes, or the client acknowledged some the
    /// capture did not show (a banner lost, or a capture of the client's side only).
    private(set) var sawServerBytes = false
    private var sawCommand = false
    let startedMidstream: Bool
    // Only the settings used after set-up: a whole configuration per session would cost
    // about a hundred bytes times every open connection.
    private let showPasswords: Bool
    private let emitCommands: Bool
    private let loginFailureThreshold: Int
    private var serverTLS: TLSRecordScanner?
    private var clientTLS: TLSRecordScanner?
    var endReason = "end of input"

    // Summary material.
    let first: Timestamp
    private var user: String?
    private var loginOutcome = "none"
    private var loginFailures = 0
    private var gaps = 0
    private var gapBytes = 0
    private var anomalyCounts: [String: Int] = [:]
    private var transfers: [TransferTracker] = []
    private var tlsUsed = false
    /// With `--tls-keylog`, once TLS began: one reference, so that sessions without TLS (or
    /// without a key log) stay as small as they were.
    private var tlsKeys: ControlTLS?
    /// The working directory, absolute, once PWD's 257, a CWD from a known one, or a reply
    /// to CWD, CDUP or the login that names it told it.
    private var directory: [UInt8]?
    /// The latest SIZE answered with a size: a RETR of the same file expects it.
    private var lastSize: (path: UInt64, size: Int)?
    /// On an implicit-TLS port (990): TLS from the first byte, no AUTH.
    private let startedInTLS: Bool

    // Data-channel bookkeeping.
    private var lastDataMode: String?
    /// A PASV, EPSV or LPSV waits for its reply, registered with the host.
    private var passiveRequested = false
    /// The letters of the last TYPE and MODE the server accepted (0: none seen).
    private var representationType: UInt8 = 0
    private var transferMode: UInt8 = 0
    /// Data connections opened now carry the file deflated.
    var inModeZ: Bool { transferMode == UInt8(ascii: "Z") }
    private var unclaimedChannel: DataChannel?
    private var awaitingChannel: TransferTracker?
    /// The transfer command an ABOR interrupted, for the transfer's own closing reply (426):
    /// RFC 959 4.1.3 has it answer the service command, and only the 226 after it the ABOR.
    /// Boxed: a reference a session, not a pending command's bytes in each of 100,000 open ones.
    private var abortedTransfer: AbortedTransfer?
    /// Data connections no transfer has claimed yet (claimed ones belong to their transfer).
    private var channels: [DataChannel] = []
    /// Transfers past `TransferOverflow.listed`; nil until a session has that many.
    private var overflow: TransferOverflow?
    /// A line without a reply code, waiting to be told whether it answers the head of the queue.
    private var codelessLine: CodelessLine?

    /// The configuration is borrowed and the streams taken: an initializer's parameters are
    /// owned by default, which copied the configuration and passed optional streams through the
    /// standard library's generic copy, about 300 instructions per session.
    init(identity: SessionIdentity, config: borrowing AnalyzerConfiguration, host: SessionHost, shared: SessionsShared,
         at ts: Timestamp, midstream: Bool, implicitTLS: Bool = false,
         server: consuming StreamReassembler, client: consuming StreamReassembler) {
        self.shared = shared
        self.identity = identity
        satellites = (UnsafeRawPointer(Unmanaged.passUnretained(identity).toOpaque()),
                      identity.utf8.withUnsafeBytes { $0.baseAddress }, nil)
        showPasswords = config.showPasswords
        emitCommands = config.emitCommands
        loginFailureThreshold = config.loginFailureThreshold
        self.host = host
        serverStream = server
        clientStream = client
        serverFramer = LineFramer(maxLineLength: config.maxLineLength)
        clientFramer = LineFramer(maxLineLength: config.maxLineLength)
        parser = ReplyParser(startMidstream: midstream, maxLinesPerReply: config.maxLinesPerReply)
        startedMidstream = midstream
        first = ts; last = ts; serverBytesAt = ts
        startedInTLS = implicitTLS
        if implicitTLS {
            tlsUsed = true
            serverTLS = TLSRecordScanner(); clientTLS = TLSRecordScanner()
            beginDecryption()
        }
        if !midstream {
            // Room for the greeting and the commands a client pipelines behind its login at
            // once, instead of growing 1, 2, 4.
            queue.reserveCapacity(4)
            queue.append(PendingCommand(verb: nil, rawArgument: nil, timestamp: ts, isGreeting: true))
            noteQueueStorage()
        }
    }

    var isClosed: Bool { closed || closedSummaryEmitted }

    /// Whether the current state is worth protecting from eviction.
    var isActive: Bool { !closed }

    // MARK: Stream input

    /// The client acknowledged server bytes the capture does not show.
    func serverBytesUnseen() { sawServerBytes = true }

    func serverBytes(_ bytes: UnsafeRawBufferPointer, at ts: Timestamp, _ sink: EventSink) {
        last = ts
        serverBytesAt = ts; serverBytesFrame = frame
        sawServerBytes = true
        guard let data = clearText(bytes, server: true, ts, sink) else { return }
        serverText(data, at: ts, sink)
    }

    private func serverText(_ data: UnsafeRawBufferPointer, at ts: Timestamp, _ sink: EventSink) {
        serverFramer.feed(data) { line in
            parser.feed(line, reusing: &shared.spare) { handleReply($0, at: ts, sink) }
        }
    }

    func clientBytes(_ bytes: UnsafeRawBufferPointer, at ts: Timestamp, _ sink: EventSink) {
        last = ts
        guard let data = clearText(bytes, server: false, ts, sink) else { return }
        clientText(data, at: ts, sink)
    }

    private func clientText(_ data: UnsafeRawBufferPointer, at ts: Timestamp, _ sink: EventSink) {
        clientFramer.feed(data) { line in handleCommandLine(line, at: ts, sink) }
    }

    /// While TLS is on, bytes are TLS records (nil: nothing to parse), whose application data is
    /// parsed when `--tls-keylog` can open them; once a direction goes back to clear text (CCC),
    /// the rest of the buffer is parsed again.
    private func clearText(_ bytes: UnsafeRawBufferPointer, server: Bool, _ ts: Timestamp,
                           _ sink: EventSink) -> UnsafeRawBufferPointer? {
        if authWaiting, serverTLS == nil, TLSRecordScanner.startsHandshake(bytes) { authAnsweredUnseen() }
        let outcome: TLSRecordScanner.Outcome?
        if server { outcome = serverTLS?.feed(bytes) } else { outcome = clientTLS?.feed(bytes) }
        switch outcome {
        case nil: return bytes
        case .consumed?:
            decrypt(bytes, server: server, ts, sink)
            return nil
        case .clearText(let at)?:
            decrypt(UnsafeRawBufferPointer(rebasing: bytes[..<at]), server: server, ts, sink)
            leaveTLS()  // after the scanner's access has ended: it resets both directions
            return UnsafeRawBufferPointer(rebasing: bytes[at...])
        }
    }

    /// TLS records opened with the key log's secrets: their application data is parsed as
    /// clear text would be. Collected first, so that what parsing it does (a reply that ends
    /// TLS, say) never meets the decryptor in the middle of its work.
    private func decrypt(_ bytes: UnsafeRawBufferPointer, server: Bool, _ ts: Timestamp, _ sink: EventSink) {
        guard let tlsKeys, tlsKeys.decryptor != nil, !bytes.isEmpty else { return }
        var plain: [UInt8] = []
        tlsKeys.decryptor!.feed(bytes, fromClient: !server) { plain.append(contentsOf: $0) }
        guard !plain.isEmpty else { return }
        plain.withUnsafeBytes { server ? serverText($0, at: ts, sink) : clientText($0, at: ts, sink) }
    }

    /// Records what the loss cut first (a reply or command ends where its bytes end, before
    /// the bytes lost after them), then the gap.
    func gap(_ direction: Direction, bytes: Int, at ts: Timestamp, _ sink: EventSink) {
        settleCodelessLine(answered: false, sink)
        gaps += 1
        gapBytes += bytes
        shared.gaps += 1
        shared.gapBytes += bytes
        tlsKeys?.decryptor?.gap(fromClient: direction == .client)
        switch direction {
        case .server:
            lastServerGap = ts
            // Lost from a reply's first byte on: the head's reply, or its start, was in them.
            let atBoundary = !serverFramer.hasPartialLine && parser.isBetweenReplies
            if atBoundary, bytes >= 4, !queue.isEmpty { lost.headReply = true }
            serverFramer.gap { line in parser.feed(line, reusing: &shared.spare) { handleCutReply($0, sink) } }
            parser.gap { handleCutReply($0, sink) }
            if parser.isInsideMultilineReply {
                // A client that sent a command while the reply was open saw its last line (clients
                // wait for it): that line was lost. Otherwise the next command will tell.
                if lost.commandInsideReply {
                    parser.endReplyCutByGap(reusing: &shared.spare) { handleCutReply($0, sink) }
                } else {
                    lost.replyEnd = true
                }
            }
            // Every command waiting now may have had its reply in the lost bytes; one sent
            // later cannot, its reply would come after them.
            lost.repliesOfWaiting = max(lost.repliesOfWaiting, queue.count)
        case .client:
            clientFramer.gap { line in handleCommandLine(line, at: ts, sink) }
            // The lost commands' replies come after those of the commands waiting now (and
            // those of commands lost in an earlier gap before those: they are not told apart).
            lost.commands = true
            lost.answersBeforeLostCommands = queue.count
        }
        sink.event(.gap(GapEvent(timestamp: ts, frame: frame, session: identity, direction: direction, bytes: bytes)))
    }

    /// A reply that a loss, a later command or the end of the connection completed: it ended
    /// with the last server bytes the capture showed, so it is stamped with their time and
    /// frame (its latency is to them, as Wireshark shows it in the frame that carried them).
    private func handleCutReply(_ reply: consuming Reply, _ sink: EventSink) {
        let current = frame
        frame = serverBytesFrame
        handleReply(reply, at: serverBytesAt, sink)
        frame = current
    }

    /// Ends the session: flushes streams and parsers and emits the summary.
    func finish(reason: String, at ts: Timestamp, _ sink: EventSink) {
        guard !closedSummaryEmitted else { return }
        endReason = reason
        // A side the capture never showed, though the other acknowledged its bytes, is the
        // capture's doing (Zeek's possible_split_routing): say so, beside the gap that follows.
        if passiveRequested { passiveRequested = false; host.expectationByHostsAnswered(of: self, passive: true) }
        let serverUnseen = serverStream.acknowledgedButNeverSeen
        if serverUnseen { countSessionAnomaly(.serverSideNotCaptured) }
        if clientStream.acknowledgedButNeverSeen { countSessionAnomaly(.clientSideNotCaptured) }
        // What the streams still hold behind holes came when its segments came.
        let current = frame
        var at = ts
        serverStream.end(arrived: { at = $0.timestamp; frame = $0.frame }) { event in deliver(event, .server, at, sink) }
        at = ts; frame = current
        clientStream.end(arrived: { at = $0.timestamp; frame = $0.frame }) { event in deliver(event, .client, at, sink) }
        frame = current
        serverFramer.finish { line in parser.feed(line, reusing: &shared.spare) { handleCutReply($0, sink) } }
        parser.finish(reusing: &shared.spare) { handleCutReply($0, sink) }
        clientFramer.finish { line in handleCommandLine(line, at: ts, sink) }
        settleCodelessLine(answered: false, sink)
        let capHits = serverStream.statistics.bufferCapHits + clientStream.statistics.bufferCapHits
        if capHits > 0 {
            anomalyCounts[SessionAnomaly.streamBufferFull.rawValue, default: 0] += capHits
            shared.anomalies[SessionAnomaly.streamBufferFull.rawValue, default: 0] += capHits
            shared.bufferCapHits += capHits
        }
        // Without the server's side its replies were all sent, none seen: nothing waits.
        if !serverUnseen { noteUnanswered() }
        // The capture ending or the table evicting us says nothing about the connection.
        if reason == "fin" || reason == "rst" || reason == "refused" { closed = true }
        closedSummaryEmitted = true
        let ended = summary()
        for t in ended.transfers { shared.missingDataBytes += t.uncapturedBytes }
        shared.missingDataBytes += ended.unlisted.missingBytes
        sink.event(.session(ended))
        host.sessionEnded(identity)
    }
    private var closedSummaryEmitted = false
    private var unanswered: [UnansweredCommand] = []

    /// What still waits for a reply as the session ends. The server never answered it when the
    /// connection closed, reset or went idle — unless the server had said it was closing (421,
    /// or 221 to a QUIT, leaving the session closed), the command was QUIT (clients close
    /// without waiting), or a gap in the server's bytes after the command may have held the reply.
    /// Listed whatever the end: a capture that ended first shows what it had not seen answered.
    private func noteUnanswered() {
        // Inside TLS the key log does not open, replies cannot be seen: nothing can be said of what waits.
        guard !queue.isEmpty, serverTLS == nil || tlsReadable else { return }
        let ended = endReason == "fin" || endReason == "rst" || endReason == "idle" || endReason == "port reused"
        // A server that never accepted the connection (refused it, or never answered the SYN)
        // owed it no greeting and no reply.
        let accepted = serverStream.isSynchronized || sawServerBytes || startedMidstream
        for pending in queue {
            if unanswered.count < UnansweredCommand.listed {
                unanswered.append(UnansweredCommand(timestamp: pending.timestamp, verb: pending.isGreeting ? nil : pending.verb,
                                                    argument: pending.argument.map { String(decoding: $0, as: UTF8.self) }))
            }
            guard ended, accepted, state != .closed, pending.kind != .quit else { continue }
            if let gap = lastServerGap, gap >= pending.timestamp { continue }
            if pending.kind == .abor, pending.number == abortMayHaveShared { continue }
            count(SessionAnomaly.commandNeverAnswered.rawValue)
            shared.count(anomaly: SessionAnomaly.commandNeverAnswered.rawValue)
        }
    }
    /// When bytes from the server were last found lost.
    private var lastServerGap: Timestamp?
    /// The number of an ABOR whose transfer closed with a 2xx: that reply may have been the
    /// ABOR's as well.
    private var abortMayHaveShared: Int32 = 0
    /// The transfer that closed with that 2xx: if the ABOR then gets a reply of its own, the
    /// transfer had completed before the ABOR reached the server.
    private var finishedBeforeAbort: TransferTracker?

    func deliver(_ event: StreamEvent, _ direction: Direction, _ ts: Timestamp, _ sink: EventSink) {
        switch (event, direction) {
        case (.data(let b), .server): serverBytes(b, at: ts, sink)
        case (.data(let b), .client): clientBytes(b, at: ts, sink)
        case (.gap(let n), _): gap(direction, bytes: n, at: ts, sink)
        }
    }

    // MARK: Commands

    private func handleCommandLine(_ line: Line, at ts: Timestamp, _ sink: EventSink) {
        let command = Command.parse(line.bytes)
        // After lost bytes, only a line that starts like a command is one; the same for a line
        // whose end was lost.
        if line.followsGap || line.cutByGap, command.verb.map({ !Candidate.knownVerbs.contains($0) }) ?? true { return }
        // The client went on: it took the line without a code for the answer it waited for.
        if codelessLine != nil { settleCodelessLine(answered: true, sink) }
        if lost.replyEnd {
            // The client went on, so it saw the end of the reply the gap cut: that end was lost.
            lost.replyEnd = false
            parser.endReplyCutByGap(reusing: &shared.spare) { handleCutReply($0, sink) }
        }
        lost.commandInsideReply = parser.isInsideMultilineReply
        var anomalies: [String] = []
        if line.droppedBytes > 0 { anomalies.append(SessionAnomaly.commandLineTooLong.rawValue) }
        if line.unterminated {
            anomalies.append((line.cutByGap ? SessionAnomaly.commandCutByGap : .unterminatedCommand).rawValue)
        }
        if command.verb == nil {
            if line.bytes.isEmpty && !line.unterminated { return }
            anomalies.append(SessionAnomaly.malformedCommand.rawValue)
        }
        if !sawServerBytes && !startedMidstream && !sawCommand {
            anomalies.append(SessionAnomaly.commandBeforeBanner.rawValue)
        }
        sawCommand = true
        commandCount += 1
        // A line that is no command still gets its answer: the reply names its first word, or
        // it would be told from the greeting by nothing.
        let verb = command.verb ?? Self.firstWord(of: command.raw)
        let kind = command.kind

        var active: AnnouncedAddress?
        if let arg = command.argument, kind == .port || kind == .eprt || kind == .lprt {
            let decoded: Result<HostPort, AddressError> = switch kind {
            case .port: AddressDecoder.decodePORT(arg)
            case .eprt: AddressDecoder.decodeEPRT(arg)
            default: AddressDecoder.decodeLPRT(arg)
            }
            switch decoded {
            case .success(let hp):
                active = AnnouncedAddress(host: hp.hostText, port: hp.port)
                if let h = hp.host, let address = IPAddress(bytes: h) {
                    if address != identity.client.address {
                        anomalies.append(SessionAnomaly.activeAddressDiffers.rawValue)
                    }
                    lastDataMode = "active"
                    host.expectDataConnection(at: Endpoint(address, hp.port), session: self, mode: "active", at: ts)
                }
            case .failure:
                anomalies.append(SessionAnomaly.invalidPortCommand.rawValue)
            }
        }
        for a in anomalies { count(a) }
        shared.commands += 1
        if !anomalies.isEmpty { shared.count(anomalies: anomalies) }
        if emitCommands {
            let shown: [UInt8]? = (kind == .pass && !showPasswords && command.argument != nil)
                ? PendingCommand.maskedArgument : command.argument
            sink.event(.command(CommandEvent(timestamp: ts, frame: frame, session: identity, command: command, argument: shown,
                                       active: active, anomalies: anomalies, number: commandCount)))
        }

        var carried: CarriedAnomalies = []
        for a in anomalies {
            if a == SessionAnomaly.activeAddressDiffers.rawValue { carried.insert(.activeAddressDiffers) }
            if a == SessionAnomaly.invalidPortCommand.rawValue { carried.insert(.invalidPortCommand) }
        }
        var transfer: TransferTracker?
        var abortAwaitingTransferReply = false
        switch kind {
        case .user:
            user = command.argument.map { String(decoding: $0, as: UTF8.self) }
        case .auth:
            authWaiting = true
        case .pasv, .epsv, .lpsv:
            // Until its reply names the port, the client's next connection to the server's host
            // is the one it asked for: what finds it when the capture lost the reply, lacks the
            // server's side, or shows the connection before the reply.
            if serverStream.acknowledgedButNeverSeen { lastDataMode = "passive" }
            passiveRequested = true
            host.expectConnectionByHosts(of: self, passive: true, at: ts)
        case .abor:
            // ABOR takes over a transfer that is under way: the next closing reply is the
            // transfer's own (its 426, RFC 959 4.1.3), the one after it ABOR's (225 or 226).
            // Under way: its preliminary reply was seen, or may have been in lost server bytes.
            let preliminaryMayBeLost = lost.repliesOfWaiting > 0 || lost.headReply
            if let i = queue.firstIndex(where: { $0.transfer != nil && ($0.gotPreliminary || preliminaryMayBeLost) }) {
                let taken = queue.remove(at: i)
                taken.transfer?.summary.outcome = "aborted"
                transfer = taken.transfer
                abortAwaitingTransferReply = true
                abortedTransfer = AbortedTransfer(taken)
            } else if transferInProgress, let t = lostCommandTransfer {
                // The transfer under way is a lost command's: its closing reply answers no
                // command the capture holds, the next one the ABOR.
                t.summary.outcome = "aborted"
                transfer = t
                abortAwaitingTransferReply = true
            } else if let ch = unclaimedChannel, ch.bytesFromClient + ch.bytesFromServer > 0 {
                // The transfer command and its preliminary reply were both lost, but a data
                // connection no command claimed is carrying a file: that transfer is the one
                // under way, and the same holds.
                let t = beginTransfer(nil, path: nil, at: ch.first)
                t.summary.outcome = "aborted"
                transfer = t
                abortAwaitingTransferReply = true
            }
        default:
            break
        }
        if command.isTransfer {
            let path = command.argument.map { String(decoding: $0, as: UTF8.self) }
            let tracker = beginTransfer(verb, path: path, at: ts)
            tracker.summary.restartOffset = restartOffset
            tracker.summary.absolutePath = transferPath(kind, command.argument).map { String(decoding: $0, as: UTF8.self) }
            if kind == .retr, let known = lastSize, let name = command.argument, known.path == Self.fingerprint(name) {
                tracker.sizeFromSIZE = known.size
            }
            transfer = tracker
        }
        // Sent on server bytes the capture lost while an ABOR waited for its transfer's closing
        // reply: that reply was among them (ftplib sends its next command on the 426), and the
        // next closing reply is the ABOR's own.
        if clientAcknowledgedUnseen, let i = queue.lastIndex(where: \.abortAwaitingTransferReply) {
            queue[i].abortAwaitingTransferReply = false
            queue[i].transfer = nil
            abortedTransfer = nil
            transferInProgress = false
        }
        // Pipelining clients queue a few: room for four at once instead of growing 1, 2, 4.
        if queue.capacity == 0 { queue.reserveCapacity(4) }
        // Built in the append: a pending command kept in a variable was copied into the queue,
        // a retain and a release for each of its references.
        queue.append(PendingCommand(verb: verb, rawArgument: command.argument, timestamp: ts, transfer: transfer,
                                    number: Int32(truncatingIfNeeded: commandCount), acknowledged: clientAcknowledgment ?? 0, kind: kind, masked: kind == .pass && !showPasswords && command.argument != nil,
                                    abortAwaitingTransferReply: abortAwaitingTransferReply, carried: carried,
                                    hasAcknowledgment: clientAcknowledgment != nil,
                                    acknowledgedUnseen: clientAcknowledgedUnseen))
        if queue.count > shared.maxPendingCommands {
            // A client that never gets answers (or a capture without the server's side): the
            // queue, whose arguments wire bytes fill, stays bounded; said once per session.
            queue.removeFirst()
            let name = SessionAnomaly.tooManyCommandsWaiting.rawValue
            if anomalyCounts[name] == nil { countSessionAnomaly(.tooManyCommandsWaiting) }
        }
        noteQueueStorage()
    }

    // MARK: Replies

    /// The line without a code held by `handleReply`, reported at its own time and frame:
    /// answering the head of the queue, or nothing.
    private func settleCodelessLine(answered: Bool, _ sink: EventSink) {
        guard let held = codelessLine.take() else { return }
        let current = frame
        frame = held.frame
        handleReply(held.reply, at: held.timestamp, sink, codelessAnswers: answered)
        frame = current
    }

    /// `codelessAnswers` is nil for a reply as it comes, and says for a line without a code
    /// held until then whether it answers the head of the queue.
    private func handleReply(_ reply: consuming Reply, at ts: Timestamp, _ sink: EventSink, codelessAnswers: Bool? = nil) {
        if codelessAnswers == nil {
            if codelessLine != nil { settleCodelessLine(answered: false, sink) }
            // A line without a code where a reply was due ("SYST not supported", "99 PASV
            // invalid") is the answer if the client takes it for one: it is held until the client
            // sends its next command (it answered) or the server another reply (it was noise).
            if reply.code == nil, let head = queue.first, !lost.isSet, !head.gotPreliminary, !head.abortAwaitingTransferReply {
                codelessLine = CodelessLine(reply: reply, timestamp: ts, frame: frame)
                return
            }
        }
        replyCount += 1
        if lost.commandInsideReply { lost.commandInsideReply = false }
        var anomalies = reply.anomalies.map(\.rawValue)
        let code = reply.code
        let protected = ProtectedReply.decode(reply)
        if let p = protected, p.payloadBytes == nil { anomalies.append(SessionAnomaly.invalidProtectedPayload.rawValue) }
        // Protected replies are judged by the reply they carry, when it can be read.
        let effective = protected?.inner?.code ?? code

        if let code {
            if !Catalog.listsFTP(code) { anomalies.append(SessionAnomaly.codeNotInCatalog.rawValue) }
            codeCounts.add(code)
            if (400..<600).contains(code) { errors += 1 }
        }

        // Pair with the command it answers.
        var answered: PendingCommand?
        var unpaired = false
        if lost.isSet, let c = effective {
            unpaired = pairAfterLoss(c, whole: !reply.anomalies.contains(.cutByGap), at: ts, &anomalies)
        }
        if let c = effective, !unpaired {
            let preliminary = c / 100 == 1
            // In place: copying the head out and back costs a retain and release per field.
            if !queue.isEmpty {
                if preliminary {
                    queue[0].gotPreliminary = true
                    answered = queue[0]
                } else if queue[0].abortAwaitingTransferReply && c != 225
                            && !(c / 100 == 2 && queue[0].transfer?.channel?.closedByReceiver == true) {
                    // The interrupted transfer's closing reply; ABOR waits on for its own, and
                    // it no longer speaks for the transfer. A 2xx rather than 426 may be the
                    // only one (proftpd's "226 Abort successful" when the client closed the data
                    // connection first): the ABOR is then not blamed for going unanswered.
                    if c / 100 == 2 { abortMayHaveShared = queue[0].number; finishedBeforeAbort = queue[0].transfer }
                    queue[0].abortAwaitingTransferReply = false
                    if let taken = abortedTransfer.take() {
                        answered = taken.command
                    } else {
                        anomalies.append(SessionAnomaly.commandLostInGap.rawValue)
                    }
                    queue[0].transfer = nil
                } else {
                    // Usually the only one: removing the last element moves nothing.
                    answered = queue.count == 1 ? queue.removeLast() : queue.takeFirst()
                    // An ABOR still waiting for its transfer's reply takes a 2xx itself when
                    // the client had cut the transfer short (proftpd's lone "226 Abort
                    // successful"): the transfer command gets no reply of its own.
                    if answered?.abortAwaitingTransferReply == true { abortedTransfer = nil }
                }
            } else if c != 421 && !(startedMidstream && !sawCommand) {
                anomalies.append(SessionAnomaly.replyWithoutCommand.rawValue)
            }
        } else if codelessAnswers == true, !queue.isEmpty {
            // Not empty unless TLS that began unseen took the AUTH it would have answered.
            answered = queue.takeFirst()
        }
        if passiveRequested, let a = answered, a.kind == .pasv || a.kind == .epsv || a.kind == .lpsv {
            passiveRequested = false
            host.expectationByHostsAnswered(of: self, passive: true)
        }
        // The reply repeats its command's anomalies, which were counted with the command: a
        // bounce attempt is one in the session's counts, not one for each record showing it.
        var repeated = 0..<0
        if let carried = answered?.carried, !carried.isEmpty {
            let names = carried.names
            repeated = anomalies.count..<anomalies.count + names.count
            anomalies.append(contentsOf: names)
        }

        // A 200 to a command the capture lost (a gap, or a capture of the server's side alone)
        // may have accepted a PORT or EPRT: the server then connects to the client's host on a
        // port the capture never saw.
        if effective == 200, answered == nil {
            host.expectConnectionByHosts(of: self, passive: false, at: ts)
        }

        // Passive addresses.
        var passive: AnnouncedAddress?
        if let c = effective, [227, 228, 229].contains(c) {
            let text = protected?.inner?.text ?? reply.text
            let decoded: Result<HostPort, AddressError> = switch c {
            case 227: AddressDecoder.decode227(text)
            case 228: AddressDecoder.decode228(text)
            default: AddressDecoder.decode229(text)
            }
            switch decoded {
            case .success(let hp):
                passive = AnnouncedAddress(host: hp.hostText, port: hp.port)
                lastDataMode = "passive"
                let announced = hp.host.flatMap { IPAddress(bytes: $0) }
                if let announced, announced != identity.server.address {
                    anomalies.append(SessionAnomaly.passiveAddressDiffers.rawValue)
                    host.expectDataConnection(at: Endpoint(announced, hp.port), session: self, mode: "passive", at: ts)
                }
                host.expectDataConnection(at: Endpoint(identity.server.address, hp.port), session: self, mode: "passive", at: ts)
            case .failure(let e):
                // A reply whose end was lost says so already; its address is not the server's fault.
                if !reply.anomalies.contains(.cutByGap) {
                    anomalies.append((e == .invalid227Tuple ? SessionAnomaly.invalid227Tuple
                                      : e == .invalid228 ? .invalid228 : .invalid229).rawValue)
                }
            }
        }

        // A positive reply RFC 959 (or the extension defining the command) does not give the
        // command: a server off the protocol, or a pairing the capture's losses misled.
        if let c = effective, c < 400, let a = answered, a.fit(c) == .unexpected {
            anomalies.append(SessionAnomaly.unexpectedReply.rawValue)
        }
        if let c = effective { applyState(code: c, answering: answered, reply: reply, at: ts, anomalies: &anomalies) }

        for (i, a) in anomalies.enumerated() where !repeated.contains(i) {
            count(a)
            shared.count(anomaly: a)
        }
        shared.replies += 1
        shared.byFirstDigit[code.map { min($0 / 100, 9) } ?? 10] += 1
        let greeting = answered?.isGreeting == true
        let latency = answered.map { ts.milliseconds(since: $0.timestamp) }
        sink.reply(ReplyEvent(
            timestamp: ts, frame: frame, session: identity, reply: reply,
            command: greeting ? nil : answered?.verb,
            argument: greeting ? nil : answered?.takeArgument(),
            state: state, passive: passive, protected: protected, anomalies: anomalies,
            latencyMilliseconds: latency, commandNumber: greeting ? nil : answered.map { Int($0.number) }))
    }

    // MARK: Pairing after lost bytes

    /// Before pairing a reply once bytes were lost: drops the waiting commands whose replies
    /// were lost, says whether the reply answers a lost command (true: it answers none the
    /// capture holds), and counts the head as answered if the pairing will take it.
    private func pairAfterLoss(_ code: Int, whole: Bool, at ts: Timestamp, _ anomalies: inout [String]) -> Bool {
        // A reply whose captured bytes came before the head was sent (a reply cut by a loss
        // is ended only when the loss is found, by then the client may have sent another
        // command) answers no command after it: one the capture lost, when it lost client bytes.
        if lost.commands, let head = queue.first, !head.isGreeting, ts < head.timestamp {
            anomalies.append(SessionAnomaly.commandLostInGap.rawValue)
            return true
        }
        if skipCommandsAnsweredBeforeTheNext(replyAt: ts) + skipHeadWithLostReply(before: code, whole: whole)
            + skipCommandsWithLostReplies(before: code) > 0 {
            anomalies.append(SessionAnomaly.repliesLostInGap.rawValue)
        }
        if answersLostCommand(code) {
            anomalies.append(SessionAnomaly.commandLostInGap.rawValue)
            return true
        }
        // What the pairing does next: a final reply takes the head, but not a preliminary one
        // nor the transfer's own reply to an ABOR that took it over.
        if let head = queue.first, code / 100 != 1, !(head.abortAwaitingTransferReply && code != 225) {
            lost.headAnswered(waiting: queue.count - 1)
        }
        return false
    }

    /// A client that received server bytes between sending a command and the next one had the
    /// first one's reply by then (it waits for it), so a reply that came after the next one was
    /// sent is not the first one's: when the capture lost server bytes, that reply was in them.
    /// Commands sent together (a pipelining client's, with the same acknowledgment) say
    /// nothing, nor does a transfer command before its 150 (the bytes may have been that), nor
    /// an ABOR, whose may have been the 426 of the transfer it ended (ftplib sends its next
    /// command on that 426, before the ABOR's own 226). Seen dropping any two packets of the
    /// recordings: USER, PASS (530 lost), USER (331 lost), PASS, and the 230 was given to the
    /// second USER, which a 230 fits too. Returns how many were dropped.
    private func skipCommandsAnsweredBeforeTheNext(replyAt ts: Timestamp) -> Int {
        var n = 0
        while n + 1 < queue.count {
            let first = queue[n], next = queue[n + 1]
            guard next.timestamp < ts, next.acknowledgedUnseen, first.hasAcknowledgment, next.hasAcknowledgment,
                  SequenceNumber.distance(from: first.acknowledged, to: next.acknowledged) > 0,
                  !first.mayGetPreliminaryReply || first.gotPreliminary, first.kind != .abor else { break }
            n += 1
        }
        if n > 0 { dropWaiting(n) }
        return n
    }

    /// Whole replies were lost from a reply's start on. A client waits for a reply before its
    /// next command, so a command waiting behind the head that this reply fits says the head's
    /// reply was among the lost ones (not only the start of this one). Returns 1 if dropped.
    ///
    /// With nothing behind the head, a whole 421 is what a server also sends unasked before it
    /// closes (an idle client timed out, a shutdown). When the head gets no preliminary reply,
    /// the lost bytes could only have been its final one: it was answered there, and the 421
    /// answers nothing. A transfer's lost bytes may have been its 150, the 421 its end.
    ///
    /// A command the capture lost after the head (the server acknowledged client bytes the
    /// capture does not show) is a command behind it too: the client sent it once it had read
    /// the head's reply, so the whole reply lost was the head's, and this one answers the lost
    /// command — whatever its code, as CWD, CWD, TYPE, PASV, each answered by a 250 or a 200,
    /// go on in a trace of a crawler that lost packets both ways. Only a transfer that may
    /// still get its final reply keeps this one, its preliminary reply having been lost: not
    /// SITE or a verb the server may answer anyhow (tnftp's SITE IDLE lost its 200 with the
    /// QUIT after it, and the 221 had gone to the SITE).
    private func skipHeadWithLostReply(before code: Int, whole: Bool) -> Int {
        guard lost.headReply else { return 0 }
        lost.headReply = false
        let head = queue[0]
        // The head alone was waiting when the client's lost bytes left: the lost command came
        // after it, so the whole reply lost was the head's, though commands sent later wait
        // behind (ftplib's NOOP after its ABOR's 426 lost with the ABOR's 226, then QUIT).
        if lost.commands, lost.answersBeforeLostCommands == 1, whole,
           !(head.transfer != nil && !head.gotPreliminary && head.fit(code) != .unexpected) {
            dropWaiting(1)
            return 1
        }
        if queue.count == 1 {
            guard code == 421, whole, !head.isGreeting, !head.mayGetPreliminaryReply else { return 0 }
        } else {
            guard queue.count >= 2, queue[1].fit(code) != .unexpected else { return 0 }
        }
        dropWaiting(1)
        return 1
    }

    /// Drops the first `n` waiting commands, whose replies were lost. A transfer whose lost
    /// reply was its preliminary one and that ABOR, waiting next, interrupted is handed to the
    /// ABOR, as when the preliminary reply is seen.
    private func dropWaiting(_ n: Int) {
        let lastDropped = queue[n - 1]
        lost.dropped(n, waiting: queue.count)
        queue.removeFirst(n)
        if let t = lastDropped.transfer, !lastDropped.gotPreliminary, queue.first?.kind == .abor, queue[0].transfer == nil {
            t.summary.outcome = "aborted"
            queue[0].transfer = t
            queue[0].abortAwaitingTransferReply = true
            abortedTransfer = AbortedTransfer(lastDropped)
        }
    }

    /// The server acknowledged client bytes the capture has not shown: if they are never
    /// shown, the replies to the commands in them answer nothing the capture holds.
    func clientBytesUnseen() {
        guard !lost.commands else { return }
        lost.commands = true
        lost.answersBeforeLostCommands = queue.count
    }

    /// After server bytes were lost, a reply that fits a later command better than the head
    /// answers that one: the commands before it, all waiting when the bytes were lost, had
    /// their replies in the gap. Returns how many were dropped. Without a later command that
    /// fits better, the head takes the reply, as in an intact stream.
    private func skipCommandsWithLostReplies(before code: Int) -> Int {
        let window = min(lost.repliesOfWaiting, queue.count)
        // Candidates: the rest of the window and the first command sent after the loss.
        let last = min(window, queue.count - 1)
        guard last >= 1 else { return 0 }
        let head = queue[0].fit(code)
        guard head != .expected else { return 0 }
        let better = (1...last).first { queue[$0].fit(code) == .expected }
            ?? (head == .unexpected ? (1...last).first { queue[$0].fit(code) == .possible } : nil)
        guard let i = better else { return 0 }
        dropWaiting(i)
        return i
    }

    /// After client bytes were lost, once the commands waiting then are answered, a reply the
    /// next waiting command cannot get answers one of the lost commands.
    private func answersLostCommand(_ code: Int) -> Bool {
        guard lost.commands, lost.answersBeforeLostCommands == 0 else { return false }
        if let head = queue.first, head.fit(code) != .unexpected {
            lost.commands = false
            return false
        }
        // A 421 with nothing waiting is what a server sends unasked before it closes.
        return !(queue.isEmpty && code == 421)
    }

    /// The first word of a line that is no command, as a reply record shows it in place of the
    /// verb: letters and digits uppercased, any other byte `?` (a verb's field is written
    /// unescaped), at most 32, then `…`; `?` for a line that begins with a space.
    static func firstWord(of line: [UInt8]) -> String {
        let word = line.prefix { $0 != 0x20 }
        guard !word.isEmpty else { return "?" }
        var shown = String(decoding: word.prefix(32).map { b -> UInt8 in
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): b - 0x20
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): b
            default: UInt8(ascii: "?")
            }
        }, as: UTF8.self)
        if word.count > 32 { shown += "…" }
        return shown
    }

    /// `SITE EXEC …`, in any case: a command line the server runs.
    private static func isSiteExec(_ command: PendingCommand) -> Bool {
        guard let a = command.rawArgument else { return false }
        let word = a.drop { $0 == 0x20 }.prefix { $0 != 0x20 }
        return word.count == 4 && zip(word, "EXEC".utf8).allSatisfy { $0 & 0xDF == $1 }
    }

    /// The queue's buffer moves only when an append grows it.
    private func noteQueueStorage() {
        satellites.queue = queue.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    /// The state a user sees: the login state, overridden by what is in progress.
    var state: SessionState {
        if closed { return .closed }
        if serverTLS != nil && !tlsReadable { return .tls }
        if transferInProgress { return .transfer }
        if renamePending { return .rename }
        if restartOffset != nil { return .restart }
        return login
    }

    private func applyState(code c: Int, answering pending: PendingCommand?, reply: Reply, at ts: Timestamp,
                            anomalies: inout [String]) {
        let verb = pending?.kind ?? .other
        if verb == .auth { authWaiting = false }
        if c == 421 || c == 221 { closed = true; transferInProgress = false; return }
        if pending?.isGreeting == true || pending == nil && login == .connected {
            if c == 120 { login = .delayed } else if c == 220 { login = .ready }
            return
        }
        // A capture that began after the login shows none: a command only a logged-in user
        // may give, carried out, says the session is logged in.
        if startedMidstream, login == .connected, c < 400, verb.requiresLogin {
            login = .authenticated
            if loginOutcome == "none" { loginOutcome = "success" }
        }
        // RNFR/REST are answered by 350 and consumed by the next command's reply.
        renamePending = false
        if verb != .rest, pending?.transfer == nil { restartOffset = nil }

        switch (verb, c) {
        case (.user, 331): login = .user
        case (.user, 332), (.pass, 332): login = .account
        case (.user, 230), (.pass, 230), (.pass, 202), (.acct, 230), (.user, 232), (.pass, 232):
            login = .authenticated; loginOutcome = "success"
            if let stated = reply.withLastLineText({ PathName.statedDirectory(in: $0, quoted: false) }) { directory = stated }
        case (.pass, 530), (.user, 530), (.acct, 530):
            if login == .user || login == .account { login = .ready }
            loginFailures += 1
            if loginOutcome != "success" { loginOutcome = "failed" }
            if host.recordLoginFailure(from: identity.client.address) >= loginFailureThreshold {
                anomalies.append(SessionAnomaly.repeatedLoginFailures.rawValue)
            }
        case (.auth, 234):
            enterTLS()
        case (.other, 234) where pending == nil:
            // Only AUTH is answered so (RFC 2228): the AUTH itself was lost.
            enterTLS()
        // The capture lost the command: these codes answer only a login, and say how it went.
        case (.other, 331) where pending == nil: login = .user
        case (.other, 332) where pending == nil: login = .account
        case (.other, let x) where pending == nil && (x == 230 || x == 232):
            login = .authenticated; loginOutcome = "success"
        case (.rein, 220):
            login = .ready; loginOutcome = "none"; directory = nil
            representationType = 0; transferMode = 0
        case (.type, 200...299): representationType = Self.firstLetter(pending?.rawArgument)
        case (.mode, 200...299): transferMode = Self.firstLetter(pending?.rawArgument)
        case (.pwd, 257), (.xpwd, 257):
            if let name = reply.withFirstLineText({ PathName.quoted(in: $0) }) { directory = PathName.resolve(name, against: nil) }
        case (.cwd, 250), (.cwd, 200), (.xcwd, 250), (.xcwd, 200):
            // The server's own word for where the session now is, where it gives one, is
            // truer than the argument resolved against a directory perhaps not known.
            directory = reply.withLastLineText({ PathName.statedDirectory(in: $0) })
                ?? pending?.rawArgument.flatMap { PathName.resolve($0, against: directory) }
        case (.cdup, 200), (.cdup, 250):
            directory = reply.withLastLineText({ PathName.statedDirectory(in: $0) })
                ?? PathName.resolve(Array("..".utf8), against: directory)
        case (.rnfr, 350): renamePending = true
        case (.abor, 225), (.abor, 226):
            // Its transfer's own 2xx came first: the transfer had completed when the ABOR
            // arrived (lftp's pget stops each part's connection so, crossing the 226), and
            // the server says there was nothing to abort (RFC 959 4.1.3).
            if let t = finishedBeforeAbort.take(), pending?.number == abortMayHaveShared, t.summary.finalCode.map({ $0 / 100 == 2 }) == true {
                t.summary.outcome = "completed"
            }
        case (.site, 200...299) where pending.map(Self.isSiteExec) == true:
            anomalies.append(SessionAnomaly.siteExecSucceeded.rawValue)
        case (.size, 213):
            lastSize = pending?.rawArgument.flatMap { path in sizeInReply(reply).map { (Self.fingerprint(path), $0) } }
        case (.rest, 350):
            restartOffset = pending?.rawArgument.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
        default: break
        }

        // A reply to no command the capture holds may still be a transfer's: its 150, or a
        // final reply once a data connection opened without a command.
        var tracked = pending?.transfer
        if pending == nil {
            tracked = lostCommandTransfer
            if tracked == nil, !transferInProgress,
               c == 125 || c == 150 || (unclaimedChannel != nil && (c == 226 || c == 250 || c == 426 || c == 451)) {
                tracked = beginTransfer(nil, path: nil, at: ts)
            }
        }
        if let t = tracked {
            if c / 100 == 1 {
                transferInProgress = true
                if t.summary.announcedSize == nil { t.summary.announcedSize = announcedSize(in: reply) ?? t.sizeFromSIZE }
            } else {
                transferInProgress = false
                restartOffset = nil
                if awaitingChannel === t { awaitingChannel = nil }
                t.summary.finalCode = c
                t.settleContentType()
                if t.summary.outcome != "aborted" {
                    // A positive reply the command cannot get (225 or 230 to RETR) does not
                    // say the file moved.
                    let fits = c / 100 != 2 || !anomalies.contains(SessionAnomaly.unexpectedReply.rawValue)
                    t.summary.outcome = c / 100 == 2 ? (fits ? "completed" : "unexpected") : c == 426 ? "aborted" : "failed"
                }
                // An aborted transfer is short by design: its size says nothing of the server.
                if c == 226 || c == 250, verb != .abor, t.summary.outcome != "aborted" {
                    if t.channel == nil {
                        anomalies.append(SessionAnomaly.transferWithoutDataConnection.rawValue)
                    } else if t.summary.sizeMatches == false {
                        anomalies.append(SessionAnomaly.transferSizeMismatch.rawValue)
                    }
                }
            }
        }
    }

    private func enterTLS() {
        tlsUsed = true
        authWaiting = false
        serverTLS = TLSRecordScanner(); clientTLS = TLSRecordScanner()
        beginDecryption()
    }

    /// A TLS period begins: with a key log, a decryptor follows its handshake.
    private func beginDecryption() {
        guard let keyLog = shared.tlsKeyLog else { return }
        if tlsKeys == nil { tlsKeys = ControlTLS() }
        tlsKeys!.decryptor = TLSDecryptor(keyLog: keyLog, sessions: shared.tlsSessions)
    }

    /// A TLS handshake began while an AUTH waited: the server accepted it with a 234 the
    /// capture lost. The AUTH is answered, and the rest is TLS records as after a 234 seen.
    private func authAnsweredUnseen() {
        if let i = queue.firstIndex(where: { $0.kind == .auth }) {
            lost.dropped(i + 1, waiting: queue.count)
            queue.removeFirst(i + 1)
        }
        count(SessionAnomaly.repliesLostInGap.rawValue)
        shared.count(anomaly: SessionAnomaly.repliesLostInGap.rawValue)
        enterTLS()
    }

    /// The file or directory a transfer names, made absolute; a listing without a name (or
    /// with only `ls` options such as `-la`, which many servers accept) lists the working
    /// directory.
    private func transferPath(_ kind: Verb, _ argument: [UInt8]?) -> [UInt8]? {
        var name = argument ?? []
        if kind == .list || kind == .nlst || kind == .mlsd {
            while name.first == UInt8(ascii: "-") {
                name = Array(name.drop { $0 != 0x20 }.drop { $0 == 0x20 })
            }
            if name.isEmpty { return directory }
        }
        return name.isEmpty ? nil : PathName.resolve(name, against: directory)
    }

    /// The number of a 213 to SIZE (RFC 3659: "213 27019").
    private func sizeInReply(_ reply: Reply) -> Int? {
        reply.withFirstLineText { text in
            let digits = text.drop { $0 == 0x20 }
            guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy(isDigitByte) else { return nil }
            return digits.reduce(0) { $0 * 10 + Int($1 - 48) }
        }
    }

    /// A file name's FNV-1a hash: what the session keeps of a SIZE's name (the name itself
    /// would keep an allocation alive in every open session that asked one).
    private static func fingerprint(_ name: [UInt8]) -> UInt64 {
        name.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }

    /// "(12345 bytes)" or "12345 bytes" in a 150 reply.
    private func announcedSize(in reply: Reply) -> Int? {
        let t = reply.text
        var i = 0
        while i < t.count {
            guard isDigitByte(t[i]), i == 0 || !isDigitByte(t[i - 1]) else { i += 1; continue }
            var v = 0, j = i
            while j < t.count, isDigitByte(t[j]), v < 1 << 50 { v = v * 10 + Int(t[j] - 48); j += 1 }
            let rest = t[j..<min(t.count, j + 6)].map { $0 | 0x20 }
            if rest.starts(with: Array(" bytes".utf8)) { return v }
            i = j
        }
        return nil
    }

    private func leaveTLS() {
        let seen = (serverTLS?.records ?? 0) + (clientTLS?.records ?? 0)
        // A server on an implicit-TLS port that speaks clear text from its first byte never used TLS.
        if startedInTLS && tlsRecordsSeen + seen == 0 { tlsUsed = false }
        tlsRecordsSeen += seen
        serverTLS = nil; clientTLS = nil
        tlsKeys?.end()
    }

    /// Whether the control channel is TLS that the key log opens: replies are read, and the
    /// session's state is what they say rather than `tls`.
    private var tlsReadable: Bool { tlsKeys?.decryptor?.status == .decrypting }
    private var tlsRecordsSeen = 0

    private func count(_ anomaly: String) { anomalyCounts[anomaly, default: 0] += 1 }

    /// An anomaly of the session itself, in its counts and the capture's.
    private func countSessionAnomaly(_ anomaly: SessionAnomaly) {
        count(anomaly.rawValue)
        shared.count(anomaly: anomaly.rawValue)
    }

    // MARK: Data connections

    /// The connection a passive request waited for opened before its reply came.
    func passiveConnectionTaken() { passiveRequested = false }

    func dataChannelOpened(_ channel: DataChannel) {
        if let t = awaitingChannel, t.channel == nil {
            t.attach(channel); awaitingChannel = nil
        } else {
            // Kept until a transfer claims it or the session ends; a session opening data
            // connections it never uses keeps no more than it lists transfers.
            channels.removeAll { $0.tracker != nil }
            if channels.count >= TransferOverflow.listed { listUnclaimed(channels.removeFirst()) }
            channels.append(channel)
            unclaimedChannel = channel
        }
    }

    func noteAnomaly(_ a: SessionAnomaly) { count(a.rawValue) }

    /// When a data connection of the session still open last carried a packet: asked only of
    /// a session whose control connection has been quiet for the idle timeout.
    var lastDataActivity: Timestamp? {
        var latest: Timestamp?
        func consider(_ channel: DataChannel?) {
            guard let channel, !channel.isClosed else { return }
            if latest.map({ channel.last > $0 }) ?? true { latest = channel.last }
        }
        for c in channels { consider(c) }
        for t in transfers { consider(t.channel) }
        for t in overflow?.inFlight ?? [] { consider(t.channel) }
        return latest
    }

    /// The first letter of TYPE's or MODE's argument, in upper case ("L 8": L); 0 for none.
    private static func firstLetter(_ argument: [UInt8]?) -> UInt8 {
        guard let b = argument?.first, (b | 0x20) >= 0x61, (b | 0x20) <= 0x7A else { return 0 }
        return b & 0xDF
    }

    /// A transfer asked for now (nil: by a command the capture does not hold), taking the data
    /// connection already open for it or the next one.
    private func beginTransfer(_ verb: String?, path: String?, at ts: Timestamp) -> TransferTracker {
        let tracker = TransferTracker(TransferSummary(command: verb, path: path, requested: ts, mode: lastDataMode))
        if representationType != 0 { tracker.summary.representationType = String(UnicodeScalar(representationType)) }
        if transferMode != 0 { tracker.summary.transferMode = String(UnicodeScalar(transferMode)) }
        if verb != nil { tracker.summary.commandFrame = frame }
        list(tracker)
        if let ch = unclaimedChannel {
            tracker.attach(ch); unclaimedChannel = nil
            // Its transfer holds it now (the channel points back weakly: a transfer past the
            // listed ones is let go once settled, and its channel must not look unclaimed then).
            channels.removeAll { $0 === ch }
        } else {
            awaitingChannel = tracker
        }
        return tracker
    }

    /// The transfer of a command the capture lost, begun by its preliminary reply and not yet
    /// given its final one. Found rather than kept: one more reference per session would cost
    /// every open session its bytes for what only lossy captures need.
    private var lostCommandTransfer: TransferTracker? {
        guard let t = overflow?.inFlight.last ?? transfers.last, t.summary.command == nil, t.summary.finalCode == nil else { return nil }
        return t
    }

    /// Listed in the session's record, or past the listed ones, counted when settled.
    private func list(_ tracker: TransferTracker) {
        if transfers.count < TransferOverflow.listed { transfers.append(tracker); return }
        if overflow == nil { overflow = TransferOverflow() }
        overflow!.take(tracker)
    }

    /// The transfers with what their data connections carried settled; a connection no
    /// command claimed that carried bytes is listed as a transfer without one, its file kept
    /// under no name. One that carried none moved nothing (curl opens one after EPSV before it
    /// knows whether the file exists): a data connection, not a transfer.
    private func settledTransfers() -> [TransferSummary] {
        for channel in channels where channel.tracker == nil { listUnclaimed(channel) }
        channels = []
        unlisted = overflow?.settleAll() ?? UnlistedTransfers()
        return transfers.map {
            $0.settleContentType(); $0.settleStreams()
            if $0.channel?.inflated?.tooLarge == true { countSessionAnomaly(.inflationLimit) }
            return $0.summary
        }
    }
    /// A data connection no command claimed: a transfer without one if it carried bytes.
    private func listUnclaimed(_ channel: DataChannel) {
        guard channel.bytesFromClient + channel.bytesFromServer > 0 else {
            channel.finishStreams()
            return
        }
        let tracker = TransferTracker(TransferSummary(command: nil, path: nil, requested: channel.first, mode: channel.mode))
        tracker.attach(channel)
        list(tracker)
    }

    /// What `settledTransfers` added up of the transfers past the listed ones.
    private var unlisted = UnlistedTransfers()

    /// `anonymous` or `ftp` in any case (RFC 1635), compared on the bytes.
    static func isAnonymousName(_ user: String) -> Bool {
        var name = user
        return name.withUTF8 { b in
            func matches(_ word: StaticString) -> Bool {
                guard b.count == word.utf8CodeUnitCount else { return false }
                for i in 0..<b.count where b[i] | 0x20 != word.utf8Start[i] { return false }
                return true
            }
            return matches("anonymous") || matches("ftp")
        }
    }

    func summary() -> SessionSummary {
        SessionSummary(
            session: identity, first: first, last: last, user: user,
            anonymous: user.map(Self.isAnonymousName) ?? false,
            login: loginOutcome, loginFailures: loginFailures, commands: commandCount, replies: replyCount,
            codes: codeCounts, gaps: gaps, gapBytes: gapBytes,
            transfers: settledTransfers(), unlisted: unlisted, errors: errors, anomalies: anomalyCounts,
            finalState: state, tls: tlsUsed,
            tlsRecords: tlsRecordsSeen + (serverTLS?.records ?? 0) + (clientTLS?.records ?? 0),
            startedMidstream: startedMidstream, endReason: endReason, unanswered: unanswered,
            tlsDecrypted: tlsKeys?.decrypted ?? 0, tlsDecryption: tlsKeys?.outcome)
    }
}

@inline(__always) private func isDigitByte(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

/// A control connection's decryption: the current TLS period's decryptor, and what earlier
/// periods (ended by CCC) opened.
final class ControlTLS {
    var decryptor: TLSDecryptor?
    private var decryptedBefore = 0
    private var lastOutcome: String?

    var decrypted: Int { decryptedBefore + (decryptor?.decryptedRecords ?? 0) }
    var outcome: String? { decryptor?.outcome ?? lastOutcome }

    /// The TLS period ended: what it opened is kept.
    func end() {
        guard let d = decryptor else { return }
        decryptedBefore += d.decryptedRecords
        lastOutcome = d.outcome
        decryptor = nil
    }
}
