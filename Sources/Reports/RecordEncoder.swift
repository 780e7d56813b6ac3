import FTPProtocol
import FTPSession
import PacketCapture
import ReplyCatalog

/// Renders analysis events as JSON Lines: the public schema documented in the README.
public struct RecordEncoder: Sendable {
    public let language: Language
    /// JSON text computed once for what every reply repeats: `,"class":…,"group":…,"meaning":…`
    /// for each code 0–999 (entries 0–999), then `,"state":…` for each state (from 1000 on).
    private let literals: LiteralTable

    /// Whether session records are written (`--no-sessions` turns them off).
    public let sessionRecords: Bool

    public init(language: Language = .english, sessionRecords: Bool = true) {
        self.language = language
        self.sessionRecords = sessionRecords
        var table = LiteralTable()
        for code in 0..<1000 {
            var w = JSONWriter(capacity: 256)
            w.fragment(",\"class\":")
            if let c = ReplyClass(code: code) { w.encoded(JSONWriter.quoted(c.rawValue)) } else { w.fragment("null") }
            w.fragment(",\"group\":")
            if let g = FunctionGroup(code: code) { w.encoded(JSONWriter.quoted(g.rawValue)) } else { w.fragment("null") }
            w.fragment(",\"meaning\":")
            if let e = Catalog.ftp(code) { w.encoded(JSONWriter.quoted(e.meaning(language))) } else { w.fragment("null") }
            table.add(w.out)
        }
        for state in SessionState.allCases {
            precondition(state.ordinal == table.count - 1000)
            table.add(Array(",\"state\":".utf8) + JSONWriter.quoted(state.rawValue))
        }
        literals = table
    }

    /// One record and its newline, appended to `w`.
    public func encode(_ event: AnalysisEvent, into w: inout JSONWriter) {
        w.beginRecord()
        switch event {
        case .reply(let r): reply(r, &w)
        case .command(let c): command(c, &w)
        case .gap(let g): gap(g, &w)
        case .session(let s):
            guard sessionRecords else { return }
            session(s, &w)
        }
        w.raw(0x0A)
    }

    /// A reply's record, for a consumer that receives replies apart from other events (see
    /// `EventSink`): the same bytes as `encode(.reply(r), into:)`.
    public func encode(reply r: ReplyEvent, into w: inout JSONWriter) {
        w.beginRecord()
        reply(r, &w)
        w.raw(0x0A)
    }

    public func encode(_ event: AnalysisEvent) -> [UInt8] {
        var w = JSONWriter()
        encode(event, into: &w)
        return w.out
    }

    private func identity(_ type: StaticString, _ ts: Timestamp?, frame: Int? = nil, _ s: SessionIdentity, _ w: inout JSONWriter) {
        w.key("type"); w.string(type)
        if let ts { w.key("ts"); w.timestamp(ts.nanoseconds) }
        if let frame { w.key("frame"); w.int(frame) }
        s.withFields { id, server, client in
            w.key("session"); w.markIdentity(); w.bytes(id)
            w.key("server"); w.bytes(server)
            w.key("client"); w.bytes(client)
        }
    }

    /// The reply record: most of the output. Replies with a code, no protected payload and
    /// an ordinary latency (all but a few) are written in one reserved room, whose bound is
    /// computed from the event first; the others field by field. Both write the same bytes in
    /// the same order as the generic writer would (`ReplyRecordTests` compare them).
    private func reply(_ r: ReplyEvent, _ w: inout JSONWriter) {
        // `case .some` rather than `!= nil`: ProtectedReply is Equatable, and `!=` between
        // optionals copied the payload through generic witnesses for every reply.
        if case .some = r.protected { replyByField(r, &w); return }
        guard let code = r.reply.code, (0..<1000).contains(code),
              r.latencyMilliseconds.map({ $0 >= 0 && $0 < 1e12 }) ?? true else {
            replyByField(r, &w)
            return
        }
        w.fragment("{\"type\":\"reply\",\"ts\":")
        w.timestampValue(r.timestamp.nanoseconds)
        // Keys, punctuation and numbers fit in 430 bytes; the rest is bounded by its length.
        var bound = 430 + r.session.utf8.count + 6 * r.reply.storage.count + 3 * r.reply.lineCount
            + 2 * literals.maxLength + (r.command?.utf8.count ?? 0) + 6 * (r.argument?.count ?? 0)
        if let p = r.passive { bound += 6 * (p.host?.utf8.count ?? 0) }
        for a in r.anomalies { bound += 6 * a.utf8.count + 3 }
        let start = w.byteCount
        let mark = w.withRoom(bound) { room -> Int in
            room.literal(",\"frame\":"); room.digits(r.frame)
            let mark = identity(r.session, &room)
            room.literal(",\"code\":"); room.digits(code)
            room.literal(",\"lines\":[")
            var first = true
            r.reply.forEachLine { l in
                if !first { room.byte(0x2C) }
                first = false
                room.wire(l)
            }
            room.literal("],\"command\":")
            // A verb is 1–16 ASCII letters (the command parser accepts nothing else), a line that
            // is no command shown by letters, digits, `?` and `…`: nothing to escape, no check.
            // Read through optional chaining, not `if let`: a binding copied the string and the
            // array, a retain and a release each per reply.
            if r.command?.utf8.withContiguousStorageIfAvailable({ room.trusted(UnsafeRawBufferPointer($0)) }) == nil {
                if var c = r.command { c.withUTF8 { room.trusted(UnsafeRawBufferPointer($0)) } } else { room.literal("null") }
            }
            room.literal(",\"argument\":")
            if r.argument?.withUnsafeBytes({ room.wire($0) }) == nil { room.literal("null") }
            // The table holds each code's class, group and catalog meaning, then each state.
            literals.write(code, into: &room)
            literals.write(1000 + r.state.ordinal, into: &room)
            room.literal(",\"passive\":")
            if let p = r.passive {
                room.literal("{\"host\":")
                if var h = p.host { h.withUTF8 { room.wire(UnsafeRawBufferPointer($0)) } } else { room.literal("null") }
                room.literal(",\"port\":"); room.digits(Int(p.port)); room.byte(0x7D)
            } else {
                room.literal("null")
            }
            room.literal(",\"protected\":null,\"latency_ms\":")
            if let l = r.latencyMilliseconds { room.milliseconds(l) } else { room.literal("null") }
            room.literal(",\"dropped_lines\":"); room.digits(r.reply.droppedLines)
            room.literal(",\"anomalies\":[")
            for (i, a) in r.anomalies.enumerated() {
                if i > 0 { room.byte(0x2C) }
                var a = a
                a.withUTF8 { room.wire(UnsafeRawBufferPointer($0)) }
            }
            room.literal("]}")
            return mark
        }
        w.markIdentity(at: start + mark)
    }

    /// The reply record field by field, for what the room above does not take.
    func replyByField(_ r: ReplyEvent, _ w: inout JSONWriter) {
        w.fragment("{\"type\":\"reply\",\"ts\":")
        w.timestampValue(r.timestamp.nanoseconds)
        w.fragment(",\"frame\":"); w.intValue(r.frame)
        r.session.withFields { id, server, client in
            w.fragment(",\"session\":"); w.markIdentity(); w.trustedValue(id)
            w.fragment(",\"server\":"); w.trustedValue(server)
            w.fragment(",\"client\":"); w.trustedValue(client)
        }
        w.fragment(",\"code\":")
        if let code = r.reply.code { w.intValue(code) } else { w.fragment("null") }
        w.fragment(",\"lines\":[")
        var first = true
        r.reply.forEachLine { l in
            if !first { w.fragment(",") }
            first = false
            w.bytesValue(l)
        }
        w.fragment("],\"command\":")
        // The string's own bytes: a verb is 1–16 ASCII letters (the command parser accepts
        // nothing else), a line that is no command shown by letters, digits, `?` and `…`
        // (`ControlSession.firstWord`), so it needs no escaping check.
        if var c = r.command {
            c.withUTF8 { v in
                assert(v.allSatisfy { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
                w.trustedValue(UnsafeRawBufferPointer(v))
            }
        } else { w.fragment("null") }
        w.fragment(",\"argument\":")
        if let a = r.argument { w.bytesValue(a) } else { w.fragment("null") }
        // The table holds each code's class, group and catalog meaning (null where none).
        if let code = r.reply.code, (0..<1000).contains(code) {
            literals.write(code, into: &w)
        } else {
            // No code (a malformed line): the same keys, from the event itself.
            w.fragment(",\"class\":")
            if let c = r.replyClass { w.stringValue(c.rawValue) } else { w.fragment("null") }
            w.fragment(",\"group\":")
            if let g = r.group { w.stringValue(g.rawValue) } else { w.fragment("null") }
            w.fragment(",\"meaning\":")
            if let m = r.catalog?.meaning(language) { w.stringValue(m) } else { w.fragment("null") }
        }
        literals.write(1000 + r.state.ordinal, into: &w)
        w.fragment(",\"passive\":")
        if r.passive == nil { w.fragment("null") } else { w.beginRecord(); address(r.passive, &w) }
        w.fragment(",\"protected\":")
        w.beginRecord()
        if let p = r.protected {
            w.beginObject()
            w.key("level"); w.string(p.level.rawValue)
            w.key("payload_bytes"); w.int(p.payloadBytes)
            w.key("inner")
            if let inner = p.inner {
                w.beginObject()
                w.key("code"); w.int(inner.code)
                w.key("lines"); w.beginArray(); inner.forEachLine { w.bytes($0) }; w.endArray()
                w.key("meaning"); w.string(inner.code.flatMap(Catalog.ftp)?.meaning(language))
                w.endObject()
            } else { w.null() }
            w.endObject()
        } else { w.fragment("null") }
        w.fragment(",\"latency_ms\":")
        if let l = r.latencyMilliseconds { w.doubleValue(l) } else { w.fragment("null") }
        w.fragment(",\"dropped_lines\":"); w.intValue(r.reply.droppedLines)
        w.fragment(",\"anomalies\":")
        if r.anomalies.isEmpty { w.fragment("[]}") } else { w.beginRecord(); strings(r.anomalies, &w); w.fragment("}") }
    }

    private func command(_ c: CommandEvent, _ w: inout JSONWriter) {
        w.beginObject()
        identity("command", c.timestamp, frame: c.frame, c.session, &w)
        w.key("command"); w.string(c.command.verb)
        w.key("argument"); w.bytes(c.argument)
        if c.command.verb == nil { w.key("raw"); w.bytes(c.command.raw) }
        w.key("active"); address(c.active, &w)
        w.key("anomalies"); strings(c.anomalies, &w)
        w.endObject()
    }

    private func gap(_ g: GapEvent, _ w: inout JSONWriter) {
        w.beginObject()
        identity("gap", g.timestamp, frame: g.frame, g.session, &w)
        w.key("direction"); w.string(g.direction.rawValue)
        w.key("bytes"); w.int(g.bytes)
        w.endObject()
    }

    /// The session record, in reserved room like the reply record, with the transfers and
    /// anomaly counts (most sessions have none of either) written field by field between two
    /// rooms. Sessions with a time before 1970 or an out-of-range duration go field by field.
    private func session(_ s: SessionSummary, _ w: inout JSONWriter) {
        let duration = s.durationMilliseconds
        guard s.first.nanoseconds >= 0, s.last.nanoseconds >= 0, duration >= 0, duration < 1e12 else {
            sessionByField(s, &w)
            return
        }
        let codes = s.codes
        // Keys, punctuation, timestamps and numbers take under 650 bytes, a code and its class
        // entry under 50 (counts have at most 15 digits); the rest is bounded by its length.
        let bound = 800 + s.session.utf8.count + 6 * (s.user?.utf8.count ?? 0) + 6 * s.login.utf8.count
            + 6 * s.endReason.utf8.count + 50 * codes.distinct
        let start = w.byteCount
        let plain = s.transfers.isEmpty && s.anomalies.isEmpty && s.unanswered.isEmpty
        let mark = w.withRoom(bound) { room -> Int in
            room.literal("{\"type\":\"session\"")
            let mark = identity(s.session, &room)
            room.literal(",\"first\":"); room.timestamp(s.first.nanoseconds)
            room.literal(",\"last\":"); room.timestamp(s.last.nanoseconds)
            room.literal(",\"duration_ms\":"); room.milliseconds(duration)
            room.literal(",\"user\":")
            if var u = s.user { u.withUTF8 { room.wire(UnsafeRawBufferPointer($0)) } } else { room.literal("null") }
            room.literal(s.anonymous ? ",\"anonymous\":true,\"login\":" : ",\"anonymous\":false,\"login\":")
            var login = s.login
            login.withUTF8 { room.wire(UnsafeRawBufferPointer($0)) }
            room.literal(",\"login_failures\":"); room.digits(s.loginFailures)
            room.literal(",\"commands\":"); room.digits(s.commands)
            room.literal(",\"replies\":"); room.digits(s.replies)
            room.literal(",\"replies_by_class\":{")
            var first = true
            codes.forEachClass { d, n in
                room.literal(first ? "\"" : ",\""); first = false
                room.digits(d); room.literal("xx\":"); room.digits(n)
            }
            room.literal("},\"replies_by_code\":{")
            first = true
            codes.forEachCode { code, n in
                room.literal(first ? "\"" : ",\""); first = false
                room.digits(code); room.literal("\":"); room.digits(n)
            }
            room.literal("},\"errors\":"); room.digits(s.errors)
            room.literal(",\"gaps\":"); room.digits(s.gaps)
            room.literal(",\"gap_bytes\":"); room.digits(s.gapBytes)
            if plain {
                room.literal(",\"transfers\":[],\"transfers_not_listed\":0,\"transfers_not_listed_bytes\":0,\"anomalies\":{},\"unanswered\":[]")
                sessionTail(s, &room)
            } else {
                room.byte(0x2C)
            }
            return mark
        }
        w.markIdentity(at: start + mark)
        if plain { return }
        transfersAndAnomalies(s, &w)
        w.withRoom(260 + 6 * (s.endReason.utf8.count + (s.tlsDecryption?.utf8.count ?? 0))) { sessionTail(s, &$0) }
    }

    /// `,"session":…,"server":…,"client":…`; where the id starts (its quote), for the merger.
    @inline(__always)
    private func identity(_ session: SessionIdentity, _ room: inout RoomWriter) -> Int {
        var mark = 0
        session.withFields { id, server, client in
            room.literal(",\"session\":")
            mark = room.written
            room.trusted(id)
            room.literal(",\"server\":"); room.trusted(server)
            room.literal(",\"client\":"); room.trusted(client)
        }
        return mark
    }

    /// From `,"final_state"` to the end of the session record.
    private func sessionTail(_ s: SessionSummary, _ room: inout RoomWriter) {
        room.literal(",\"final_state\":")
        var state = s.finalState.rawValue
        state.withUTF8 { room.trusted(UnsafeRawBufferPointer($0)) }
        room.literal(s.tls ? ",\"tls\":true,\"tls_records\":" : ",\"tls\":false,\"tls_records\":")
        room.digits(s.tlsRecords)
        room.literal(",\"tls_decrypted\":")
        room.digits(s.tlsDecrypted)
        room.literal(",\"tls_decryption\":")
        if var decryption = s.tlsDecryption {
            decryption.withUTF8 { room.wire(UnsafeRawBufferPointer($0)) }
        } else {
            room.literal("null")
        }
        room.literal(s.startedMidstream ? ",\"started_midstream\":true" : ",\"started_midstream\":false")
        room.literal(",\"end_reason\":")
        var reason = s.endReason
        reason.withUTF8 { room.wire(UnsafeRawBufferPointer($0)) }
        room.byte(0x7D)
    }

    /// The session record field by field: what the rooms above do not take.
    func sessionByField(_ s: SessionSummary, _ w: inout JSONWriter) {
        w.fragment("{\"type\":\"session\"")
        s.session.withFields { id, server, client in
            w.fragment(",\"session\":"); w.markIdentity(); w.trustedValue(id)
            w.fragment(",\"server\":"); w.trustedValue(server)
            w.fragment(",\"client\":"); w.trustedValue(client)
        }
        w.fragment(",\"first\":"); w.timestampValue(s.first.nanoseconds)
        w.fragment(",\"last\":"); w.timestampValue(s.last.nanoseconds)
        w.fragment(",\"duration_ms\":"); w.doubleValue(s.durationMilliseconds)
        w.fragment(",\"user\":")
        if let u = s.user { w.stringValue(u) } else { w.fragment("null") }
        w.fragment(s.anonymous ? ",\"anonymous\":true,\"login\":" : ",\"anonymous\":false,\"login\":")
        w.stringValue(s.login)
        w.fragment(",\"login_failures\":"); w.intValue(s.loginFailures)
        w.fragment(",\"commands\":"); w.intValue(s.commands)
        w.fragment(",\"replies\":"); w.intValue(s.replies)
        w.fragment(",\"replies_by_class\":{")
        var first = true
        s.codes.forEachClass { d, n in
            w.fragment(first ? "\"" : ",\""); first = false
            w.intValue(d); w.fragment("xx\":"); w.intValue(n)
        }
        w.fragment("},\"replies_by_code\":{")
        first = true
        s.codes.forEachCode { code, n in
            w.fragment(first ? "\"" : ",\""); first = false
            w.intValue(code); w.fragment("\":"); w.intValue(n)
        }
        w.fragment("},\"errors\":"); w.intValue(s.errors)
        w.fragment(",\"gaps\":"); w.intValue(s.gaps)
        w.fragment(",\"gap_bytes\":"); w.intValue(s.gapBytes)
        w.fragment(",")
        transfersAndAnomalies(s, &w)
        w.fragment(",\"final_state\":"); w.stringValue(s.finalState.rawValue)
        w.fragment(s.tls ? ",\"tls\":true,\"tls_records\":" : ",\"tls\":false,\"tls_records\":")
        w.intValue(s.tlsRecords)
        w.fragment(",\"tls_decrypted\":"); w.intValue(s.tlsDecrypted)
        w.fragment(",\"tls_decryption\":")
        if let decryption = s.tlsDecryption { w.stringValue(decryption) } else { w.fragment("null") }
        w.fragment(s.startedMidstream ? ",\"started_midstream\":true" : ",\"started_midstream\":false")
        w.fragment(",\"end_reason\":"); w.stringValue(s.endReason)
        w.fragment("}")
    }

    /// `"transfers":[…],"anomalies":{…},"unanswered":[…]`, written by key.
    private func transfersAndAnomalies(_ s: SessionSummary, _ w: inout JSONWriter) {
        w.beginRecord()
        w.key("transfers"); w.beginArray()
        for t in s.transfers {
            w.beginObject()
            w.key("command"); w.string(t.command)
            w.key("command_frame"); w.int(t.commandFrame)
            w.key("path"); w.string(t.path)
            w.key("absolute_path"); w.string(t.absolutePath)
            w.key("mode"); w.string(t.mode)
            w.key("type"); w.string(t.representationType)
            w.key("transfer_mode"); w.string(t.transferMode)
            w.key("data_client"); w.string(t.dataConnection.map { $0.client.description })
            w.key("data_server"); w.string(t.dataConnection.map { $0.server.description })
            w.key("data_first_frame"); w.int(t.dataFrames?.first)
            w.key("data_last_frame"); w.int(t.dataFrames?.last)
            w.key("bytes"); w.int(t.bytes)
            w.key("bytes_to_server"); w.int(t.bytesToServer)
            w.key("bytes_to_client"); w.int(t.bytesToClient)
            w.key("missing_bytes"); w.int(t.uncapturedBytes)
            w.key("inflated_bytes"); w.int(t.inflatedBytes)
            w.key("duration_ms"); if let d = t.durationMilliseconds { w.double(d) } else { w.null() }
            w.key("throughput_bps")
            if let d = t.durationMilliseconds, d > 0 { w.double(Double(t.bytes) * 8 / (d / 1000), decimals: 0) } else { w.null() }
            w.key("announced_size"); w.int(t.announcedSize)
            w.key("size_matches"); if let m = t.sizeMatches { w.bool(m) } else { w.null() }
            w.key("final_code"); w.int(t.finalCode)
            w.key("outcome"); w.string(t.outcome)
            w.key("tls"); w.bool(t.tls)
            w.key("tls_decrypted"); w.bool(t.tlsDecrypted)
            w.key("mime_type"); w.string(t.mimeType)
            w.key("md5"); w.string(t.digests?.md5)
            w.key("sha1"); w.string(t.digests?.sha1)
            w.key("sha256"); w.string(t.digests?.sha256)
            w.key("extracted"); w.string(t.extractedPath)
            w.key("extracted_whole"); if let whole = t.extractedWhole { w.bool(whole) } else { w.null() }
            w.endObject()
        }
        w.endArray()
        w.key("transfers_not_listed"); w.int(s.unlisted.count)
        w.key("transfers_not_listed_bytes"); w.int(s.unlisted.bytes)
        w.key("anomalies"); counts(s.anomalies, &w)
        w.key("unanswered"); w.beginArray()
        for u in s.unanswered {
            w.beginObject()
            w.key("ts"); w.timestamp(u.timestamp.nanoseconds)
            w.key("command"); w.string(u.verb)
            w.key("argument"); w.string(u.argument)
            w.endObject()
        }
        w.endArray()
    }

    /// The closing totals record.
    public func encodeSummary(_ s: CaptureSummary, files: Int, warnings: [String],
                              capture: (received: Int, droppedByKernel: Int, droppedByInterface: Int)? = nil) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("type"); w.string("summary")
        w.key("files"); w.int(files)
        w.key("packets"); w.int(s.packets)
        w.key("bytes"); w.int(s.bytes)
        w.key("tcp_segments"); w.int(s.tcpSegments)
        w.key("connections"); w.int(s.connections)
        w.key("ftp_sessions"); w.int(s.ftpSessions)
        w.key("data_connections"); w.int(s.dataConnections)
        w.key("commands"); w.int(s.commands)
        w.key("replies"); w.int(s.replies)
        w.key("replies_by_class"); counts(s.repliesByClass, &w)
        w.key("gaps"); w.int(s.gaps)
        w.key("gap_bytes"); w.int(s.gapBytes)
        w.key("missing_data_bytes"); w.int(s.missingDataBytes)
        w.key("evictions"); w.int(s.evictions)
        w.key("idle_expirations"); w.int(s.idleExpirations)
        w.key("buffer_cap_hits"); w.int(s.bufferCapHits)
        w.key("files_extracted"); w.int(s.filesExtracted)
        w.key("extraction_failures"); counts(s.extractionFailures, &w)
        w.key("peak_connections"); w.int(s.peakConnections)
        w.key("anomalies"); counts(s.anomalies, &w)
        w.key("not_ip"); w.int(s.notIP)
        w.key("not_tcp"); w.int(s.notTCP)
        w.key("ip_fragments"); w.int(s.ipFragments)
        w.key("ip_datagrams_reassembled"); w.int(s.ipDatagramsReassembled)
        w.key("ip_fragments_unreassembled"); w.int(s.ipFragmentsUnreassembled)
        w.key("ip_fragment_conflicts"); w.int(s.ipFragmentConflicts)
        w.key("malformed"); counts(s.malformed, &w)
        w.key("truncated_packets"); w.int(s.truncatedPackets)
        w.key("unsupported_link_type"); w.int(s.unsupportedLinkType)
        w.key("unsupported_link_types"); w.beginArray(); for dlt in s.unsupportedLinkTypes { w.int(Int(dlt)) }; w.endArray()
        if let c = capture {
            w.key("capture"); w.beginObject()
            w.key("received"); w.int(c.received)
            w.key("dropped_by_kernel"); w.int(c.droppedByKernel)
            w.key("dropped_by_interface"); w.int(c.droppedByInterface)
            w.endObject()
        }
        w.key("warnings"); strings(warnings, &w)
        w.endObject()
        w.raw(0x0A)
        return w.out
    }

    private func address(_ a: AnnouncedAddress?, _ w: inout JSONWriter) {
        guard let a else { w.null(); return }
        w.beginObject(); w.key("host"); w.string(a.host); w.key("port"); w.int(Int(a.port)); w.endObject()
    }

    private func strings(_ a: [String], _ w: inout JSONWriter) {
        w.beginArray(); for s in a { w.string(s) }; w.endArray()
    }

    private func counts(_ d: [String: Int], _ w: inout JSONWriter) {
        w.beginObject()
        if !d.isEmpty {
            // Names are ASCII: byte order is the order String would give, without its Unicode rules.
            for (k, v) in d.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) { w.dynamicKey(k); w.int(v) }
        }
        w.endObject()
    }
}

extension SessionState {
    /// The case's position in `allCases`: the record encoder's index into its state fragments.
    var ordinal: Int {
        switch self {
        case .connected: 0
        case .delayed: 1
        case .ready: 2
        case .user: 3
        case .account: 4
        case .authenticated: 5
        case .tls: 6
        case .rename: 7
        case .restart: 8
        case .transfer: 9
        case .closed: 10
        }
    }
}

/// JSON fragments stored back to back: writing one is a copy, with no reference counting
/// on an array per fragment.
struct LiteralTable: Sendable {
    private var bytes: [UInt8] = []
    private var ends: [Int] = []
    /// The longest fragment: what a room must leave for one.
    private(set) var maxLength = 0

    var count: Int { ends.count }

    mutating func add(_ json: [UInt8]) {
        bytes.append(contentsOf: json)
        ends.append(bytes.count)
        maxLength = max(maxLength, json.count)
    }

    @inline(__always)
    func write(_ i: Int, into room: inout RoomWriter) {
        let start = i == 0 ? 0 : ends[i - 1]
        bytes.withUnsafeBytes { room.copy(UnsafeRawBufferPointer(rebasing: $0[start..<ends[i]])) }
    }

    @inline(__always)
    func write(_ i: Int, into w: inout JSONWriter) {
        let start = i == 0 ? 0 : ends[i - 1]
        bytes.withUnsafeBytes { w.append(bytes: UnsafeRawBufferPointer(rebasing: $0[start..<ends[i]])) }
    }
}
