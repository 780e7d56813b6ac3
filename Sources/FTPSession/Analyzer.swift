import FTPProtocol
import PacketCapture
import TCPReassembly

/// The streaming engine: packets in, records out. One pass, one flow-table lookup per packet;
/// a packet of a connection that is not FTP control costs a header decode and that lookup.
public final class Analyzer {
    enum Flow {
        case control(ControlSession, serverIsLow: Bool)
        case data(DataChannel, finLow: Bool, finHigh: Bool)
        case candidate(Candidate)
        case ignored(finLow: Bool, finHigh: Bool)
    }

    private struct Expectation {
        weak var session: ControlSession?
        var mode: String
        var timestamp: Timestamp
    }

    public let configuration: AnalyzerConfiguration
    private let table: FlowTable<Flow>
    private var expectations: [Endpoint: Expectation] = [:]
    private var loginFailures: [IPAddress: Int] = [:]
    private var sessionCounter = 0
    private var lastSweep: Timestamp?
    private var now = Timestamp.zero
    private var classCounts = [Int](repeating: 0, count: 10)
    public private(set) var summary = CaptureSummary()
    private let emit: (AnalysisEvent) -> Void

    /// The index of the packet being processed in the whole input. A driver that splits one
    /// capture over several analyzers sets it; otherwise packets are counted here. It labels
    /// new connections so that expiry order is the same however the capture was split.
    public var packetIndex: UInt64 = 0
    /// Called when a control session is created (its records follow).
    public var sessionStarted: ((SessionIdentity) -> Void)?
    /// Called before an idle sweep or the end of input closes a connection, with its last
    /// activity and creating packet: what orders such records across analyzers.
    public var closing: ((Timestamp, UInt64) -> Void)?

    public init(configuration: AnalyzerConfiguration = AnalyzerConfiguration(), emit: @escaping (AnalysisEvent) -> Void) {
        self.configuration = configuration
        self.table = FlowTable(capacity: configuration.maxConnections)
        self.emit = emit
    }

    // MARK: Input

    /// Decodes and processes one captured frame.
    public func process(_ packet: RawPacket, decoder: PacketDecoder, index: UInt64? = nil) {
        process(packet, decoded: decoder.decode(packet.bytes), index: index)
    }

    /// Processes one frame that was already decoded (by a thread that read it first).
    public func process(_ packet: RawPacket, decoded: Result<TCPSegment, DecodeOutcome>, index: UInt64? = nil) {
        packetIndex = index ?? UInt64(summary.packets)
        summary.packets += 1
        summary.bytes += packet.bytes.count
        if packet.bytes.count < packet.wireLength { summary.truncatedPackets += 1 }
        switch decoded {
        case .success(let segment):
            process(segment, at: packet.timestamp)
        case .failure(let outcome):
            note(packet.timestamp)
            switch outcome {
            case .notIP: summary.notIP += 1
            case .notTCP: summary.notTCP += 1
            case .ipFragment: summary.ipFragments += 1
            case .unsupportedLinkType: summary.unsupportedLinkType += 1
            case .malformed(let why): summary.malformed[why.rawValue, default: 0] += 1
            }
        }
    }

    private func note(_ ts: Timestamp) {
        if summary.first == nil { summary.first = ts }
        if ts > now { now = ts; summary.last = ts }
    }

    /// Processes one decoded TCP segment.
    public func process(_ segment: TCPSegment, at ts: Timestamp) {
        summary.tcpSegments += 1
        note(ts)
        if !configuration.externalSweeps { sweepIfDue() }
        let (key, fromLow) = ConnectionKey.of(source: segment.source, destination: segment.destination)
        let slot: Int
        if let s = table.slot(of: key) {
            slot = s
            table[slot].lastSeen = ts
        } else {
            // A bare ACK, FIN or RST of a connection we never saw (often the last packet of one
            // that just closed) carries nothing to analyze and is not worth a table entry.
            if !segment.flags.contains(.syn) && segment.payload.isEmpty && segment.missingPayload == 0 { return }
            slot = table.insert(key, classify(segment, fromLow: fromLow, at: ts), at: ts, serial: packetIndex,
                                keep: { if case .control(let s, _) = $0 { s.isActive } else { false } },
                                evicted: { [unowned self] in self.evicted($0) })
            summary.connections += 1
        }

        switch table[slot].value {
        case .ignored(var finLow, var finHigh):
            if segment.flags.contains(.rst) { table.remove(slot: slot); return }
            if segment.flags.contains(.fin) {
                if fromLow { finLow = true } else { finHigh = true }
                if finLow && finHigh { table.remove(slot: slot) } else { table[slot].value = .ignored(finLow: finLow, finHigh: finHigh) }
            }

        case .data(let channel, var finLow, var finHigh):
            channel.receive(segment, at: ts)
            if segment.flags.contains(.rst) { channel.closed = true; table.remove(slot: slot); return }
            if segment.flags.contains(.fin) {
                if fromLow { finLow = true } else { finHigh = true }
                if finLow && finHigh { channel.closed = true; table.remove(slot: slot) }
                else { table[slot].value = .data(channel, finLow: finLow, finHigh: finHigh) }
            }

        case .control(let session, let serverIsLow):
            let fromServer = fromLow == serverIsLow
            feed(session, segment, fromServer: fromServer, at: ts)
            if segment.flags.contains(.rst) {
                session.finish(reason: "rst", at: ts, emitAndCount)
                table.remove(slot: slot)
            } else if session.serverStream.isFinished && session.clientStream.isFinished {
                session.finish(reason: "fin", at: ts, emitAndCount)
                table.remove(slot: slot)
            }

        case .candidate(let candidate):
            feedCandidate(candidate, segment, fromLow: fromLow, at: ts)
            switch candidate.verdict(window: configuration.detectionWindow) {
            case .undecided:
                if segment.flags.contains(.rst) { table.remove(slot: slot) }
            case .notFTP:
                table[slot].value = .ignored(finLow: false, finHigh: false)
                if segment.flags.contains(.rst) { table.remove(slot: slot) }
            case .ftp(let serverIsLow):
                let session = promote(candidate, key: key, serverIsLow: serverIsLow)
                table[slot].value = .control(session, serverIsLow: serverIsLow)
                if segment.flags.contains(.rst) {
                    session.finish(reason: "rst", at: ts, emitAndCount)
                    table.remove(slot: slot)
                }
            }
        }
    }

    /// Ends every connection still open (end of input) and returns the totals.
    @discardableResult
    public func finish() -> CaptureSummary {
        table.drain { entry in
            if case .control(let s, _) = entry.value {
                closing?(entry.lastSeen, entry.serial)
                s.finish(reason: "end of input", at: now, emitAndCount)
            }
        }
        summary.evictions = table.evictions
        summary.peakConnections = table.peakCount
        summary.repliesByClass = classLabels(classCounts)
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
        table.expire(before: cutoff) { entry in
            summary.idleExpirations += 1
            if case .control(let s, _) = entry.value {
                closing?(entry.lastSeen, entry.serial)
                s.finish(reason: "idle", at: t, emitAndCount)
            }
        }
        expectations = expectations.filter { $0.value.session != nil && $0.value.timestamp >= cutoff }
    }

    // MARK: Classification

    private func classify(_ segment: TCPSegment, fromLow: Bool, at ts: Timestamp) -> Flow {
        // A data connection someone announced?
        for (listener, initiator) in [(segment.destination, segment.source), (segment.source, segment.destination)] {
            if let e = expectations[listener], let session = e.session, !session.isClosed {
                expectations[listener] = nil
                let passive = e.mode == "passive"
                let channel = DataChannel(session: session, mode: e.mode,
                                          ftpClientSide: passive ? initiator : listener,
                                          ftpServerSide: passive ? listener : initiator, at: ts)
                session.dataChannelOpened(channel)
                summary.dataConnections += 1
                return .data(channel, finLow: false, finHigh: false)
            }
        }
        let midstream = !segment.flags.contains(.syn)
        let ports = configuration.controlPorts
        let dstIsServer = ports.contains(segment.destination.port)
        let srcIsServer = ports.contains(segment.source.port)
        if dstIsServer || srcIsServer {
            // With both ends on a control port, the SYN's target is the server.
            let serverIsSource = srcIsServer && !(dstIsServer && segment.flags.contains(.syn) && !segment.flags.contains(.ack))
            let serverIsLow = serverIsSource == fromLow
            return .control(newSession(serverIsLow: serverIsLow, key: ConnectionKey.of(source: segment.source, destination: segment.destination).key,
                                       at: ts, midstream: midstream), serverIsLow: serverIsLow)
        }
        guard configuration.detect else { return .ignored(finLow: false, finHigh: false) }
        return .candidate(Candidate(maxBuffered: configuration.maxBufferedBytesPerStream, at: ts, midstream: midstream))
    }

    private func newSession(serverIsLow: Bool, key: ConnectionKey, at ts: Timestamp, midstream: Bool,
                            server: StreamReassembler? = nil, client: StreamReassembler? = nil) -> ControlSession {
        sessionCounter += 1
        summary.ftpSessions += 1
        let identity = SessionIdentity(id: "\(configuration.sessionPrefix)s\(sessionCounter)",
                                       server: serverIsLow ? key.low : key.high,
                                       client: serverIsLow ? key.high : key.low)
        sessionStarted?(identity)
        return ControlSession(identity: identity, config: configuration, host: self, at: ts, midstream: midstream,
                              server: server, client: client)
    }

    private func promote(_ c: Candidate, key: ConnectionKey, serverIsLow: Bool) -> ControlSession {
        let session = newSession(serverIsLow: serverIsLow, key: key, at: c.first, midstream: c.midstream,
                                 server: serverIsLow ? c.low : c.high, client: serverIsLow ? c.high : c.low)
        for chunk in c.chunks {
            switch chunk {
            case .data(let ts, let fromLow, let bytes):
                bytes.withUnsafeBytes { raw in
                    if fromLow == serverIsLow { session.serverBytes(raw, at: ts, emitAndCount) }
                    else { session.clientBytes(raw, at: ts, emitAndCount) }
                }
            case .gap(let ts, let fromLow, let n):
                session.gap(fromLow == serverIsLow ? .server : .client, bytes: n, at: ts, emitAndCount)
            }
        }
        return session
    }

    // MARK: Stream plumbing

    private func feed(_ session: ControlSession, _ segment: TCPSegment, fromServer: Bool, at ts: Timestamp) {
        let syn = segment.flags.contains(.syn), fin = segment.flags.contains(.fin)
        if fromServer {
            if segment.flags.contains(.ack) {
                session.clientStream.acknowledged(segment.acknowledgment) { session.deliver($0, .client, ts, emitAndCount) }
            }
            session.serverStream.receive(sequence: segment.sequence, syn: syn, fin: fin, payload: segment.payload,
                                         missing: segment.missingPayload) { session.deliver($0, .server, ts, emitAndCount) }
        } else {
            if segment.flags.contains(.ack) {
                session.serverStream.acknowledged(segment.acknowledgment) { session.deliver($0, .server, ts, emitAndCount) }
            }
            session.clientStream.receive(sequence: segment.sequence, syn: syn, fin: fin, payload: segment.payload,
                                         missing: segment.missingPayload) { session.deliver($0, .client, ts, emitAndCount) }
        }
    }

    private func feedCandidate(_ c: Candidate, _ segment: TCPSegment, fromLow: Bool, at ts: Timestamp) {
        let syn = segment.flags.contains(.syn), fin = segment.flags.contains(.fin)
        if fromLow {
            c.low.receive(sequence: segment.sequence, syn: syn, fin: fin, payload: segment.payload,
                          missing: segment.missingPayload) { c.record($0, fromLow: true, at: ts) }
        } else {
            c.high.receive(sequence: segment.sequence, syn: syn, fin: fin, payload: segment.payload,
                           missing: segment.missingPayload) { c.record($0, fromLow: false, at: ts) }
        }
    }

    private func emitAndCount(_ event: AnalysisEvent) {
        switch event {
        case .reply(let r):
            summary.replies += 1
            if let code = r.reply.code { classCounts[min(code / 100, 9)] += 1 }
            for a in r.anomalies { summary.anomalies[a, default: 0] += 1 }
        case .command(let c):
            summary.commands += 1
            for a in c.anomalies { summary.anomalies[a, default: 0] += 1 }
        case .gap(let g):
            summary.gaps += 1
            summary.gapBytes += g.bytes
        case .session(let s):
            for (name, n) in s.anomalies where name == SessionAnomaly.streamBufferFull.rawValue {
                summary.anomalies[name, default: 0] += n
                summary.bufferCapHits += n
            }
        }
        emit(event)
    }

    private func evicted(_ entry: FlowTable<Flow>.Entry) {
        if case .control(let s, _) = entry.value {
            s.noteAnomaly(.sessionEvicted)
            summary.anomalies[SessionAnomaly.sessionEvicted.rawValue, default: 0] += 1
            s.finish(reason: "evicted", at: now, emitAndCount)
        }
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
    func commandSeen(anomalies: [String]) {
        summary.commands += 1
        for a in anomalies { summary.anomalies[a, default: 0] += 1 }
    }

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
        expectations[endpoint] = Expectation(session: session, mode: mode, timestamp: ts)
    }
}
