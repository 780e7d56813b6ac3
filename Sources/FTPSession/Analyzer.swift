import CPrefetch
import FTPProtocol
import PacketCapture
import TCPReassembly

/// The streaming engine: packets in, records out. One pass, one flow-table lookup per packet;
/// a packet of a connection that is not FTP control costs a header decode and that lookup.
public final class Analyzer {
    /// What the table knows of a connection. The objects are held unmanaged: the table owns
    /// one reference to each (taken in `classify` or on promotion, given back by `release()`
    /// when the entry leaves the table or changes object). A managed payload made every lookup
    /// copy the entry through value witnesses and retain the object, an atomic write to a
    /// cache line that, with 100,000 connections open, is usually not in any cache.
    enum Flow {
        case control(Unmanaged<ControlSession>, serverIsLow: Bool)
        case data(Unmanaged<DataChannel>, finLow: Bool, finHigh: Bool)
        case candidate(Unmanaged<Candidate>)
        /// Not FTP: from its first packet (detection off), or `ruledOut` by its first bytes.
        /// `opening`: the sequence number of the SYN it began with, if it began with one.
        case ignored(finLow: Bool, finHigh: Bool, ruledOut: Bool, opening: UInt32?)

        func release() {
            switch self {
            case .control(let s, _): s.release()
            case .data(let c, _, _): c.release()
            case .candidate(let c): c.release()
            case .ignored: break
            }
        }

        var object: UnsafeMutableRawPointer? {
            switch self {
            case .control(let s, _): s.toOpaque()
            case .data(let c, _, _): c.toOpaque()
            case .candidate(let c): c.toOpaque()
            case .ignored: nil
            }
        }
    }

    private struct Expectation {
        weak var session: ControlSession?
        var mode: String
        var timestamp: Timestamp
        /// Server-to-server (FXP): another session announced the same endpoint the other way
        /// round — one server's 227, the PORT its peer was given — and the connection is both
        /// sessions' transfer.
        weak var peer: ControlSession?
        var peerMode = ""
    }

    public let configuration: AnalyzerConfiguration
    /// `configuration.controlPorts` as one bit per port: every new connection asks about both
    /// of its ports, and a set lookup hashed each (0.3 % of the control-heavy benchmark's instructions).
    private let controlPortBits: [UInt64]
    /// `configuration.implicitTLSPorts`, the same way.
    private let implicitTLSPortBits: [UInt64]
    private let table: FlowTable<Flow>
    private var expectations: [Endpoint: Expectation] = [:]
    /// Data connections expected between two hosts, on a port the capture has not shown: a
    /// passive request waiting for its reply (which may be lost, or come after the connection),
    /// or a 200 to a lost command that may have been a PORT. Few at a time, so an array.
    private var expectedByHosts: [ExpectedByHosts] = []
    private struct ExpectedByHosts {
        weak var session: ControlSession?
        var hosts: HostPair
        var passive: Bool
        var timestamp: Timestamp
    }
    private struct HostPair: Equatable {
        var initiator: IPAddress
        var listener: IPAddress
    }
    private var loginFailures: [IPAddress: Int] = [:]
    private var sessionCounter = 0
    private var lastSweep: Timestamp?
    private var now = Timestamp.zero
    private let shared = SessionsShared()
    public private(set) var summary = CaptureSummary()
    /// Where events go. Sessions count replies, commands and gaps themselves (`SessionsShared`):
    /// reading an event's case on the way copied every event.
    private let sink: EventSink

    /// The index of the packet being processed in the whole input. A driver that splits one
    /// capture over several analyzers sets it; otherwise packets are counted here. It labels
    /// new connections so that expiry order is the same however the capture was split.
    public var packetIndex: UInt64 = 0
    /// Called when a control session is created (its records follow).
    public var sessionStarted: ((SessionIdentity) -> Void)?
    /// Called after a session's summary event, when nothing more of it will be emitted.
    public var sessionEnded: ((SessionIdentity) -> Void)?
    /// Called before an idle sweep or the end of input closes a connection, with its last
    /// activity and creating packet: what orders such records across analyzers.
    public var closing: ((Timestamp, UInt64) -> Void)?

    /// IP fragments waiting for the rest of their datagram (nil when the driver reassembles).
    private let fragments: FragmentReassembler?
    /// Where transferred files are written (`--extract`), nil when they are not.
    private let extractor: FileExtractor?

    public init(configuration: AnalyzerConfiguration = AnalyzerConfiguration(), sink: EventSink) {
        fragments = configuration.reassemblesFragments ? FragmentReassembler() : nil
        extractor = configuration.extractDirectory.map(FileExtractor.init(directory:))
        self.configuration = configuration
        controlPortBits = Self.bits(of: configuration.controlPorts)
        implicitTLSPortBits = Self.bits(of: configuration.implicitTLSPorts)
        self.table = FlowTable(capacity: configuration.maxConnections)
        self.sink = sink
        shared.tlsKeyLog = configuration.tlsKeyLog
        shared.maxPendingCommands = configuration.maxPendingCommands
    }

    deinit {
        table.drain { $0.value.release() }
    }

    // MARK: Input

    /// Decodes and processes one captured frame.
    public func process(_ packet: RawPacket, decoder: PacketDecoder, index: UInt64? = nil) {
        process(packet, decoded: decoder.decode(packet), index: index)
    }

    /// Processes one frame that was already decoded (by a thread that read it first), with its
    /// probe if the driver computed one.
    public func process(_ packet: RawPacket, decoded: Result<TCPSegment, DecodeOutcome>, index: UInt64? = nil,
                        probe: FlowProbe? = nil) {
        packetIndex = index ?? UInt64(summary.packets)
        summary.packets += 1
        summary.bytes += packet.bytes.count
        if packet.bytes.count < packet.wireLength { summary.truncatedPackets += 1 }
        switch decoded {
        case .success(let segment):
            process(segment, at: packet.timestamp, probe: probe)
        case .failure(.ipFragment) where fragments != nil:
            note(packet.timestamp)
            reassemble(packet, decoded, fragments!)
        case .failure(let outcome):
            note(packet.timestamp)
            count(outcome)
        }
    }

    /// A frame that gave no TCP segment. Fragments are counted by the reassembler that held them.
    private func count(_ outcome: DecodeOutcome) {
        switch outcome {
        case .notIP: summary.notIP += 1
        case .notTCP: summary.notTCP += 1
        case .ipFragment: break
        case .unsupportedLinkType(let dlt): summary.countUnsupported(dlt)
        case .malformed(let why): summary.malformed[why.rawValue, default: 0] += 1
        }
    }

    /// A fragment, off the path of whole packets: held, or the last of its datagram, which is
    /// then analyzed in its place (the frame was counted; its datagram is not a packet more).
    @inline(never)
    private func reassemble(_ frame: RawPacket, _ decoded: Result<TCPSegment, DecodeOutcome>, _ fragments: FragmentReassembler) {
        var packet = frame, result = decoded
        fragments.resolve(&packet, &result, decoder: PacketDecoder(linkType: .raw))
        switch result {
        case .success(let segment): process(segment, at: packet.timestamp)
        case .failure(let outcome): count(outcome)
        }
    }

    private func note(_ ts: Timestamp) {
        if summary.first == nil { summary.first = ts }
        if ts > now { now = ts; summary.last = ts }
    }

    /// Processes one decoded TCP segment.
    public func process(_ segment: TCPSegment, at ts: Timestamp, probe given: FlowProbe? = nil) {
        summary.tcpSegments += 1
        note(ts)
        if !configuration.externalSweeps { sweepIfDue() }
        let probe: FlowProbe
        if let given { probe = given } else {
            let (key, fromLow) = ConnectionKey.of(source: segment.source, destination: segment.destination)
            probe = FlowProbe(table: table.probe(key), fromLow: fromLow)
        }
        let key = probe.table.key, fromLow = probe.fromLow
        let slot: Int
        if let s = table.slot(of: probe.table) {
            if segment.flags.contains(.syn) && !segment.flags.contains(.ack) {
                slot = reopened(s, by: segment, key: key, fromLow: fromLow, at: ts)
            } else {
                slot = s
                table[slot].lastSeen = ts
            }
        } else {
            // A bare ACK, FIN or RST of a connection we never saw (often the last packet of one
            // that just closed) carries nothing to analyze and is not worth a table entry.
            if !segment.flags.contains(.syn) && segment.payload.isEmpty && segment.missingPayload == 0 { return }
            slot = insertFlow(key, segment, fromLow: fromLow, at: ts)
        }

        switch table[slot].value {
        case .ignored(var finLow, var finHigh, let ruledOut, let opening):
            if segment.flags.contains(.rst) { removeFlow(slot); return }
            if segment.flags.contains(.fin) {
                if fromLow { finLow = true } else { finHigh = true }
                if finLow && finHigh { removeFlow(slot) }
                else { table[slot].value = .ignored(finLow: finLow, finHigh: finHigh, ruledOut: ruledOut, opening: opening) }
            }

        case .data(let ref, var finLow, var finHigh):
            let channel = ref.takeUnretainedValue()
            channel.receive(segment, at: ts, frame: Int(truncatingIfNeeded: packetIndex) &+ 1)
            if segment.flags.contains(.rst) { channel.close(); removeFlow(slot); return }
            if segment.flags.contains(.fin) {
                if fromLow { finLow = true } else { finHigh = true }
                if finLow && finHigh { channel.close(); removeFlow(slot) }
                else { table[slot].value = .data(ref, finLow: finLow, finHigh: finHigh) }
            }

        case .control(let ref, let serverIsLow):
            let fromServer = fromLow == serverIsLow
            // Borrowed for the call: the table's reference keeps it alive, and it is given back
            // only after the borrow ends.
            let ended = ref._withUnsafeGuaranteedRef { session in
                session.frame = Int(truncatingIfNeeded: packetIndex) &+ 1
                feed(session, segment, fromServer: fromServer, at: ts)
                if segment.flags.contains(.rst) {
                    // A server that answers the client's SYN with a reset refused the connection
                    // (Zeek's REJ): there was never a session to greet.
                    let refused = fromServer && !session.serverStream.isSynchronized && !session.startedMidstream
                    session.finish(reason: refused ? "refused" : "rst", at: ts, sink)
                    return true
                } else if session.serverStream.isFinished && session.clientStream.isFinished {
                    session.finish(reason: "fin", at: ts, sink)
                    return true
                }
                return false
            }
            if ended { removeFlow(slot) }

        case .candidate(let ref):
            let candidate = ref.takeUnretainedValue()
            feedCandidate(candidate, segment, fromLow: fromLow, at: ts)
            switch candidate.verdict(window: configuration.detectionWindow) {
            case .undecided:
                if segment.flags.contains(.rst) { removeFlow(slot) }
            case .notFTP:
                table[slot].value = .ignored(finLow: false, finHigh: false, ruledOut: true, opening: nil)
                ref.release()
                if segment.flags.contains(.rst) { removeFlow(slot) }
            case .ftp(let serverIsLow):
                let session = promote(candidate, key: key, serverIsLow: serverIsLow)
                table[slot].value = .control(.passRetained(session), serverIsLow: serverIsLow)
                ref.release()
                if segment.flags.contains(.rst) {
                    session.finish(reason: "rst", at: ts, sink)
                    removeFlow(slot)
                }
            }
        }
    }

    /// Takes a connection out of the table and gives back the table's reference to its object.
    private func insertFlow(_ key: ConnectionKey, _ segment: TCPSegment, fromLow: Bool, at ts: Timestamp) -> Int {
        summary.connections += 1
        return table.insert(key, classify(segment, fromLow: fromLow, at: ts), at: ts, serial: packetIndex,
                            keep: { if case .control(let s, _) = $0 { s._withUnsafeGuaranteedRef { $0.isActive } } else { false } },
                            evicted: { [unowned self] in self.evicted($0) })
    }

    /// A SYN on a connection the table holds: the same connection (a SYN sent again), or the
    /// port pair used again while the old one is still held (its close was not captured, or
    /// came too fast), which then ends here. Returns the slot the packet belongs to.
    @inline(never)
    private func reopened(_ slot: Int, by segment: TCPSegment, key: ConnectionKey, fromLow: Bool, at ts: Timestamp) -> Int {
        guard opensAnotherConnection(table[slot].value, segment, fromLow: fromLow) else {
            table[slot].lastSeen = ts
            return slot
        }
        switch table[slot].value {
        case .control(let ref, _): ref._withUnsafeGuaranteedRef { $0.finish(reason: "port reused", at: ts, sink) }
        case .data(let ref, _, _): ref._withUnsafeGuaranteedRef { $0.close() }
        case .candidate, .ignored: break
        }
        removeFlow(slot)
        return insertFlow(key, segment, fromLow: fromLow, at: ts)
    }

    /// Whether a SYN (without ACK) starts a connection other than the one `flow` follows.
    private func opensAnotherConnection(_ flow: Flow, _ segment: TCPSegment, fromLow: Bool) -> Bool {
        switch flow {
        case .control(let ref, let serverIsLow):
            return ref._withUnsafeGuaranteedRef { s in
                (fromLow == serverIsLow ? s.serverStream : s.clientStream).isNewConnection(syn: segment.sequence)
            }
        case .candidate(let ref):
            return ref._withUnsafeGuaranteedRef { c in (fromLow ? c.low : c.high).isNewConnection(syn: segment.sequence) }
        case .data(let ref, _, _):
            return ref._withUnsafeGuaranteedRef { $0.isNewConnection(syn: segment) }
        case .ignored(_, _, let ruledOut, let opening):
            // One ruled out by its bytes had data flowing, after which a SYN is never part of
            // it: another connection took its ports (perhaps FTP, or a transfer of a session
            // announced since). One ignored from its first packet is another connection when
            // it began with a SYN of another sequence number; its own SYN sent again is not.
            // Begun without a SYN, it ends at its FINs, RST or idle time.
            if ruledOut { return true }
            guard let opening else { return false }
            return segment.sequence != opening
        }
    }

    private func removeFlow(_ slot: Int) {
        table.remove(slot: slot).value.release()
    }

    /// A packet's flow-table key, direction and hash, computed once by a driver that looks a
    /// few packets ahead (see `probe(_:)`) and reused by each later step and by `process`.
    public struct FlowProbe {
        let table: FlowTable<Flow>.Probe
        let fromLow: Bool
    }

    /// Steps of the lookahead a driver holding packets in a batch runs ahead of `process`:
    /// `probe(_:)` first (it asks for the index bucket), then `.entry`, then `.object` (the
    /// connection's object), then `.satellites` (a session's separate allocations, whose
    /// addresses the object holds), each a little later. A step only reads what the one before
    /// fetched.
    public enum Lookahead { case entry, object, satellites }

    /// How many packets ahead of `process` a driver computes a packet's probe, then runs
    /// `.entry`, `.object` and `.satellites`: far enough for each memory access to complete
    /// before the next step reads what it fetched (measured on the control-heavy benchmark
    /// capture; the satellites step took 1.6 % off the two-core run's wall time, 1.7 % off one
    /// core's, in alternating runs).
    public static let probeDistance = 24, entryDistance = 12, objectDistance = 4, satelliteDistance = 2

    /// The probe for `segment`, with its index bucket asked for; changes nothing.
    @inline(__always)
    public func probe(_ segment: TCPSegment) -> FlowProbe {
        let (key, fromLow) = ConnectionKey.of(source: segment.source, destination: segment.destination)
        let p = table.probe(key)
        table.prefetch(p, .bucket)
        return FlowProbe(table: p, fromLow: fromLow)
    }

    /// Prefetches what processing the probed packet will read; changes nothing.
    @inline(__always)
    public func prefetch(_ probe: FlowProbe, _ step: Lookahead) {
        switch step {
        case .entry: table.prefetch(probe.table, .entry)
        case .object:
            guard let object = table.hintedValue(probe.table)?.object else { return }
            for line in 0..<Self.prefetchedObjectLines { ftpscope_prefetch(object + line * 64) }
        case .satellites:
            // The session object is in the cache by now: its satellites' addresses are read
            // from it. They are separate allocations that every reply touched cold (the
            // identity's reference count, its bytes in the record, the queue's head).
            guard case .control(let ref, _)? = table.hintedValue(probe.table) else { return }
            let s = ref._withUnsafeGuaranteedRef { $0.satellites }
            ftpscope_prefetch(s.identity)
            if let b = s.bytes { ftpscope_prefetch(b); ftpscope_prefetch(b + 64) }
            if let q = s.queue { ftpscope_prefetch(q); ftpscope_prefetch(q + 64) }
        }
    }

    /// Runs the steps after the probe, each for the packet at its distance ahead of the one
    /// about to be processed: `probe(d)` is that packet's probe, nil if there is none (past the
    /// end, or not TCP). Every driver that looks ahead calls this, so the steps and their
    /// distances are written once. Inlinable: as a call from another module the closure cost
    /// a context and an indirect call per step and packet (1.7 % of the split run's wall time).
    @inlinable @inline(__always)
    public func lookahead(_ probe: (Int) -> FlowProbe?) {
        if let p = probe(Self.entryDistance) { prefetch(p, .entry) }
        if let p = probe(Self.objectDistance) { prefetch(p, .object) }
        if let p = probe(Self.satelliteDistance) { prefetch(p, .satellites) }
    }

    /// Cache lines of a session object asked for ahead: all of it (about 740 bytes; see the
    /// field order in `ControlSession`). Alternating runs showed no difference from nine
    /// lines; twelve leave no field of the object to a miss whatever the layout.
    static let prefetchedObjectLines = 12

    /// Ends every connection still open (end of input) and returns the totals.
    @discardableResult
    public func finish() -> CaptureSummary {
        table.drain { entry in
            if case .control(let s, _) = entry.value {
                closing?(entry.lastSeen, entry.serial)
                s.takeUnretainedValue().finish(reason: "end of input", at: now, sink)
            }
            entry.value.release()
        }
        if let fragments {
            fragments.finish()
            summary.add(fragments.counts)
        }
        summary.evictions = table.evictions
        summary.peakConnections = table.peakCount
        summary.replies = shared.replies
        summary.commands = shared.commands
        summary.gaps = shared.gaps
        summary.gapBytes = shared.gapBytes
        summary.missingDataBytes = shared.missingDataBytes
        summary.bufferCapHits = shared.bufferCapHits
        if let extractor {
            summary.filesExtracted = extractor.filesKept
            summary.extractionFailures = extractor.failures
        }
        summary.repliesByClass = classLabels(Array(shared.byFirstDigit[0..<10]))
        summary.anomalies.merge(shared.anomalies, uniquingKeysWith: +)
        return summary
    }

    /// Capture time between idle sweeps, checked on TCP segments.
    public static let sweepInterval: Int64 = 10_000_000_000

    /// Connections in the table now, and evictions so far: what a driver running several
    /// analyzers needs to know to compute the peak over all of them.
    public var openConnections: Int { table.count }
    public var evictionCount: Int { table.evictions }
    /// Connections created so far (one field, not a copy of the whole summary).
    public var connectionsCreated: Int { summary.connections }

    /// Moves the clock forward without a packet: what other analyzers of the same capture saw
    /// sets the time at which the end of input closes sessions.
    public func advanceClock(to ts: Timestamp) {
        if ts > now { now = ts }
    }

    /// Closes sessions idle for longer than the timeout (live captures call this on a timer too).
    public func expireIdle(now current: Timestamp? = nil) {
        let t = current ?? now
        let cutoff = Timestamp(nanoseconds: t.nanoseconds - configuration.idleTimeout)
        // A control connection says nothing while its transfer runs, for an hour if the file
        // is large: a session with a data connection active since the cutoff is not idle.
        table.expire(before: cutoff, lastActive: { flow in
            if case .control(let s, _) = flow { s._withUnsafeGuaranteedRef { $0.lastDataActivity } } else { nil }
        }) { entry in
            summary.idleExpirations += 1
            if case .control(let s, _) = entry.value {
                closing?(entry.lastSeen, entry.serial)
                s.takeUnretainedValue().finish(reason: "idle", at: t, sink)
            }
            entry.value.release()
        }
        expectations = expectations.filter { $0.value.session != nil && $0.value.timestamp >= cutoff }
        if !expectedByHosts.isEmpty {
            expectedByHosts.removeAll { $0.session == nil || $0.timestamp < cutoff }
        }
    }

    // MARK: Classification

    private func classify(_ segment: TCPSegment, fromLow: Bool, at ts: Timestamp) -> Flow {
        // A data connection someone announced? (Checked both ways round, without building a
        // pair list per new connection, and not at all while nothing is announced.)
        for reversed in [false, true] where !expectations.isEmpty {
            let (listener, initiator) = reversed ? (segment.source, segment.destination) : (segment.destination, segment.source)
            if let e = expectations[listener], let session = e.session, !session.isClosed {
                expectations[listener] = nil
                let flow = openData(for: session, mode: e.mode, initiator: initiator, listener: listener, at: ts)
                if let peer = e.peer, !peer.isClosed, case .data(let channel, _, _) = flow {
                    channel.takeUnretainedValue().twin = openChannel(for: peer, mode: e.peerMode, initiator: initiator, listener: listener,
                                                                     at: ts, extracting: false)
                }
                return flow
            }
        }
        // One expected between two hosts: only a connection's opening SYN says which end
        // opened it, and a connection to a control port (or ident's, which servers ask the
        // client's host) is no data connection.
        if !expectedByHosts.isEmpty, segment.flags.contains(.syn), !segment.flags.contains(.ack),
           !isPort(segment.destination.port, in: controlPortBits), !isPort(segment.destination.port, in: implicitTLSPortBits),
           segment.destination.port != 113 {
            let pair = HostPair(initiator: segment.source.address, listener: segment.destination.address)
            if let i = expectedByHosts.lastIndex(where: { $0.hosts == pair }) {
                let e = expectedByHosts.remove(at: i)
                if let session = e.session, !session.isClosed {
                    if e.passive { session.passiveConnectionTaken() }
                    return openData(for: session, mode: e.passive ? "passive" : "active", initiator: segment.source,
                                    listener: segment.destination, at: ts)
                }
            }
        }
        let midstream = !segment.flags.contains(.syn)
        var dstIsServer = isPort(segment.destination.port, in: controlPortBits)
        var srcIsServer = isPort(segment.source.port, in: controlPortBits)
        var implicitTLS = false
        // A port that is both is clear-text FTP: TLS from the first byte only where no
        // control port says otherwise.
        if !dstIsServer && !srcIsServer {
            dstIsServer = isPort(segment.destination.port, in: implicitTLSPortBits)
            srcIsServer = isPort(segment.source.port, in: implicitTLSPortBits)
            implicitTLS = dstIsServer || srcIsServer
        }
        if dstIsServer || srcIsServer {
            // With both ends on a control port, the SYN's target is the server.
            let serverIsSource = srcIsServer && !(dstIsServer && segment.flags.contains(.syn) && !segment.flags.contains(.ack))
            let serverIsLow = serverIsSource == fromLow
            let limit = configuration.maxBufferedBytesPerStream
            let session = newSession(serverIsLow: serverIsLow, key: ConnectionKey.of(source: segment.source, destination: segment.destination).key,
                                     at: ts, midstream: midstream, implicitTLS: implicitTLS,
                                     server: StreamReassembler(maxBufferedBytes: limit), client: StreamReassembler(maxBufferedBytes: limit))
            return .control(.passRetained(session), serverIsLow: serverIsLow)
        }
        guard configuration.detect else {
            let opening = segment.flags.contains(.syn) && !segment.flags.contains(.ack) ? segment.sequence : nil
            return .ignored(finLow: false, finHigh: false, ruledOut: false, opening: opening)
        }
        return .candidate(.passRetained(Candidate(maxBuffered: configuration.maxBufferedBytesPerStream, at: ts, midstream: midstream)))
    }

    private func openData(for session: ControlSession, mode: String, initiator: Endpoint, listener: Endpoint, at ts: Timestamp) -> Flow {
        let channel = openChannel(for: session, mode: mode, initiator: initiator, listener: listener, at: ts, extracting: true)
        summary.dataConnections += 1
        return .data(.passRetained(channel), finLow: false, finHigh: false)
    }

    /// A data connection as `session` sees it. The twin of a server-to-server transfer (the
    /// other session's view, fed every segment the first gets) writes no second file.
    private func openChannel(for session: ControlSession, mode: String, initiator: Endpoint, listener: Endpoint, at ts: Timestamp,
                             extracting: Bool) -> DataChannel {
        let passive = mode == "passive"
        let channel = DataChannel(session: session, mode: mode,
                                  ftpClientSide: passive ? initiator : listener,
                                  ftpServerSide: passive ? listener : initiator, at: ts,
                                  hashes: configuration.transferHashes, extractor: extracting ? extractor : nil,
                                  decrypting: shared.tlsKeyLog.map { ($0, shared.tlsSessions) },
                                  maxBufferedBytes: configuration.maxBufferedBytesPerStream, deflated: session.inModeZ)
        session.dataChannelOpened(channel)
        return channel
    }

    private static func bits(of ports: Set<UInt16>) -> [UInt64] {
        var bits = [UInt64](repeating: 0, count: 1024)
        for p in ports { bits[Int(p >> 6)] |= 1 << UInt64(p & 63) }
        return bits
    }

    private func isPort(_ port: UInt16, in bits: [UInt64]) -> Bool {
        bits[Int(port >> 6)] & (1 << UInt64(port & 63)) != 0
    }

    private func newSession(serverIsLow: Bool, key: ConnectionKey, at ts: Timestamp, midstream: Bool, implicitTLS: Bool = false,
                            server: consuming StreamReassembler, client: consuming StreamReassembler) -> ControlSession {
        sessionCounter += 1
        summary.ftpSessions += 1
        let identity = SessionIdentity(prefix: configuration.sessionPrefix, number: sessionCounter,
                                       server: serverIsLow ? key.low : key.high,
                                       client: serverIsLow ? key.high : key.low, started: ts)
        sessionStarted?(identity)
        return ControlSession(identity: identity, config: configuration, host: self, shared: shared,
                              at: ts, midstream: midstream, implicitTLS: implicitTLS,
                              server: server, client: client)
    }

    private func promote(_ c: Candidate, key: ConnectionKey, serverIsLow: Bool) -> ControlSession {
        let session = newSession(serverIsLow: serverIsLow, key: key, at: c.first, midstream: c.midstream,
                                 server: serverIsLow ? c.low : c.high, client: serverIsLow ? c.high : c.low)
        for chunk in c.chunks {
            switch chunk {
            case .data(let ts, let frame, let fromLow, let range):
                session.frame = frame
                c.withBytes(range) { raw in
                    if fromLow == serverIsLow { session.serverBytes(raw, at: ts, sink) }
                    else { session.clientBytes(raw, at: ts, sink) }
                }
            case .gap(let ts, let frame, let fromLow, let n):
                session.frame = frame
                session.gap(fromLow == serverIsLow ? .server : .client, bytes: n, at: ts, sink)
            case .unseen(let fromLow):
                if fromLow != serverIsLow { session.clientBytesUnseen() } else { session.serverBytesUnseen() }
            case .acknowledgment(let fromLow, let ack, let unseen):
                if fromLow != serverIsLow { session.clientAcknowledgment = ack; session.clientAcknowledgedUnseen = unseen }
            }
        }
        return session
    }

    // MARK: Stream plumbing

    /// The caller has set `session.frame`.
    @inline(__always)
    private func feed(_ session: ControlSession, _ segment: TCPSegment, fromServer: Bool, at ts: Timestamp) {
        let syn = segment.flags.contains(.syn), fin = segment.flags.contains(.fin)
        if fromServer {
            if segment.flags.contains(.ack) {
                releaseHeld(session, segment.acknowledgment, of: .client, at: ts)
                // The server answers what it received: a command the capture missed cannot be paired.
                // Asked only when a reply may follow.
                if !segment.payload.isEmpty, session.clientStream.isBehind(acknowledged: segment.acknowledgment) {
                    session.clientBytesUnseen()
                }
            }
            session.serverStream.receive(sequence: segment.sequence, syn: syn, fin: fin, payload: segment.payload,
                                         missing: segment.missingPayload, arrival: Arrival(ts, frame: session.frame)) {
                session.deliver($0, .server, ts, sink)
            }
        } else {
            if segment.flags.contains(.ack) {
                releaseHeld(session, segment.acknowledgment, of: .server, at: ts)
                session.clientAcknowledgment = segment.acknowledgment
                // A command sent having received server bytes the capture lost.
                session.clientAcknowledgedUnseen = !segment.payload.isEmpty
                    && session.serverStream.isBehind(acknowledged: segment.acknowledgment)
                // A command acknowledging server bytes the capture does not show comes after a
                // banner it lost, not before one.
                if !session.sawServerBytes, !segment.payload.isEmpty,
                   session.serverStream.isBehind(acknowledged: segment.acknowledgment) {
                    session.serverBytesUnseen()
                }
            }
            session.clientStream.receive(sequence: segment.sequence, syn: syn, fin: fin, payload: segment.payload,
                                         missing: segment.missingPayload, arrival: Arrival(ts, frame: session.frame)) {
                session.deliver($0, .client, ts, sink)
            }
        }
    }

    /// The peer's acknowledgment, which may give up a hole in `direction`'s stream: the gap
    /// and the segments held behind it are of the time and frame those segments came in.
    @inline(__always)
    private func releaseHeld(_ session: ControlSession, _ ack: UInt32, of direction: Direction, at ts: Timestamp) {
        let frame = session.frame
        var at = ts
        // Closures passed straight in, not kept in a constant: a stored closure escapes, and
        // capturing `at` would then box it on the heap for every packet.
        if direction == .server {
            session.serverStream.acknowledged(ack, arrived: { at = $0.timestamp; session.frame = $0.frame }) {
                session.deliver($0, .server, at, sink)
            }
        } else {
            session.clientStream.acknowledged(ack, arrived: { at = $0.timestamp; session.frame = $0.frame }) {
                session.deliver($0, .client, at, sink)
            }
        }
        session.frame = frame
    }

    private func feedCandidate(_ c: Candidate, _ segment: TCPSegment, fromLow: Bool, at ts: Timestamp) {
        let frame = Int(truncatingIfNeeded: packetIndex) &+ 1
        let syn = segment.flags.contains(.syn), fin = segment.flags.contains(.fin)
        // As for a session: an acknowledgment past a hole in the other direction makes it a
        // gap now, where it happened, not when that side sends again after it.
        if segment.flags.contains(.ack) {
            var at = ts, heldFrame = frame
            if fromLow {
                c.high.acknowledged(segment.acknowledgment, arrived: { at = $0.timestamp; heldFrame = $0.frame }) {
                    c.record($0, fromLow: false, at: at, frame: heldFrame)
                }
                if c.high.isBehind(acknowledged: segment.acknowledgment) { c.noteUnseen(fromLow: false) }
            } else {
                c.low.acknowledged(segment.acknowledgment, arrived: { at = $0.timestamp; heldFrame = $0.frame }) {
                    c.record($0, fromLow: true, at: at, frame: heldFrame)
                }
                if c.low.isBehind(acknowledged: segment.acknowledgment) { c.noteUnseen(fromLow: true) }
            }
        }
        let arrival = Arrival(ts, frame: frame)
        // Whichever side turns out to be the client, its commands keep what it had acknowledged.
        if !segment.payload.isEmpty, segment.flags.contains(.ack) {
            let ack = segment.acknowledgment
            c.noteAcknowledgment(fromLow: fromLow, ack, unseen: fromLow ? c.high.isBehind(acknowledged: ack) : c.low.isBehind(acknowledged: ack))
        }
        if fromLow {
            c.low.receive(sequence: segment.sequence, syn: syn, fin: fin, payload: segment.payload,
                          missing: segment.missingPayload, arrival: arrival) { c.record($0, fromLow: true, at: ts, frame: frame) }
        } else {
            c.high.receive(sequence: segment.sequence, syn: syn, fin: fin, payload: segment.payload,
                           missing: segment.missingPayload, arrival: arrival) { c.record($0, fromLow: false, at: ts, frame: frame) }
        }
    }

    private func evicted(_ entry: FlowTable<Flow>.Entry) {
        if case .control(let ref, _) = entry.value {
            let s = ref.takeUnretainedValue()
            s.noteAnomaly(.sessionEvicted)
            summary.anomalies[SessionAnomaly.sessionEvicted.rawValue, default: 0] += 1
            s.finish(reason: "evicted", at: now, sink)
        }
        entry.value.release()
    }

    private func sweepIfDue() {
        guard let last = lastSweep else { lastSweep = now; return }
        if now.nanoseconds - last.nanoseconds >= Self.sweepInterval {
            lastSweep = now
            expireIdle()
        }
    }
}

extension Analyzer: SessionHost {
    func sessionEnded(_ identity: SessionIdentity) { sessionEnded?(identity) }

    func recordLoginFailure(from address: IPAddress) -> Int {
        if loginFailures.count >= 65_536, loginFailures[address] == nil { loginFailures.removeAll(keepingCapacity: true) }
        loginFailures[address, default: 0] += 1
        return loginFailures[address]!
    }

    func expectDataConnection(at endpoint: Endpoint, session: ControlSession, mode: String, at ts: Timestamp) {
        if expectations.count >= 65_536 {
            expectations = expectations.filter { $0.value.session.map { !$0.isClosed } ?? false }
            if expectations.count >= 65_536 { expectations.removeAll(keepingCapacity: true) }
        }
        // One server's 227 and the PORT its peer was given name the same endpoint: FXP, a
        // transfer between two servers that one client drives over two sessions.
        if var e = expectations[endpoint], let first = e.session, first !== session, !first.isClosed, e.mode != mode {
            e.peer = session; e.peerMode = mode
            expectations[endpoint] = e
            return
        }
        expectations[endpoint] = Expectation(session: session, mode: mode, timestamp: ts)
    }

    func expectConnectionByHosts(of session: ControlSession, passive: Bool, at ts: Timestamp) {
        if expectedByHosts.count >= 4_096 {
            expectedByHosts.removeAll { $0.session.map { $0.isClosed } ?? true }
            if expectedByHosts.count >= 4_096 { expectedByHosts.removeFirst(2_048) }
        }
        // One of each mode per session: the latest request stands for the session.
        expectationByHostsAnswered(of: session, passive: passive)
        let (client, server) = (session.identity.client.address, session.identity.server.address)
        let hosts = passive ? HostPair(initiator: client, listener: server) : HostPair(initiator: server, listener: client)
        expectedByHosts.append(ExpectedByHosts(session: session, hosts: hosts, passive: passive, timestamp: ts))
    }

    func expectationByHostsAnswered(of session: ControlSession, passive: Bool) {
        // Usually the last one: replies come in order, and few wait at a time.
        if let i = expectedByHosts.lastIndex(where: { $0.session === session && $0.passive == passive }) { expectedByHosts.remove(at: i) }
    }
}
