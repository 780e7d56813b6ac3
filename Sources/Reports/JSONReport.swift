import FTPSession

/// The whole report as one JSON document, for other tools: the JSON Lines session records
/// and summary, plus the code histogram, anomalies, slowest replies and the policy outcome.
public struct JSONReport: Sendable {
    public init() {}

    /// The document as bytes (small captures, tests); `write` streams it.
    public func render(_ c: ReportCollector, violations: [String], violationCount: Int? = nil) -> [UInt8] {
        var out: [UInt8] = []
        write(c, violations: violations, violationCount: violationCount) { out += $0 }
        return out
    }

    /// A session's record in the array of sessions: its JSON Lines record without the newline.
    public static let sessionRows: SessionRows = {
        let encoder = RecordEncoder()
        return SessionRows(separator: ",") { summary in
            // Cut in place: `dropLast()` where an array is expected is Sequence's, which copies
            // element by element (40,000 instructions a record).
            var record = encoder.encode(.session(summary))
            record.removeLast()
            return record
        }
    }()

    /// Writes the document in pieces: the sessions from the collector's rows (see
    /// `sessionRows`), the rest after them. `violations` are those kept; `violationCount` is
    /// how many there were (default: as many).
    public func write(_ c: ReportCollector, violations: [String], violationCount: Int? = nil,
                      to write: (UnsafeRawBufferPointer) -> Void) {
        let encoder = RecordEncoder()
        writeUTF8("{\"sessions\":[", to: write)
        c.writeSessionRows(Self.sessionRows, to: write)
        var out = Array("],\"summary\":".utf8)
        out += encoder.encodeSummary(c.summary, files: c.files, warnings: c.warnings).dropLast()
        var w = JSONWriter()
        w.beginObject()
        w.key("codes"); w.beginObject(); for k in c.codes.keys.sorted() { w.dynamicKey(String(k)); w.int(c.codes[k]!) }; w.endObject()
        w.key("classes"); w.beginObject(); for k in c.classes.keys.sorted() { w.dynamicKey(k); w.int(c.classes[k]!) }; w.endObject()
        w.key("anomalies"); w.beginArray()
        for a in c.anomalies {
            w.beginObject(); w.key("ts"); w.timestamp(a.timestamp.nanoseconds); w.key("session"); w.string(a.session)
            // The line under the name of the record that carries it: `reply` as before, or
            // `command`; a session's own anomaly has none.
            w.key("anomaly"); w.string(a.name)
            if a.record != .session { w.dynamicKey(a.record.rawValue); w.string(a.line) }
            w.endObject()
        }
        w.endArray()
        w.key("slowest"); w.beginArray()
        for r in c.slowestReplies {
            w.beginObject(); w.key("session"); w.string(r.session.id); w.key("command"); w.string(r.command)
            w.key("code"); w.int(r.reply.code); w.key("latency_ms"); w.double(r.latencyMilliseconds ?? 0); w.endObject()
        }
        w.endArray()
        w.key("policy"); w.beginObject(); w.key("failed"); w.bool((violationCount ?? violations.count) > 0)
        w.key("violation_count"); w.int(violationCount ?? violations.count)
        w.key("violations"); w.beginArray(); for v in violations { w.string(v) }; w.endArray(); w.endObject()
        w.endObject()
        out.append(0x2C)
        out += w.out.dropFirst()
        out.append(0x0A)
        out.withUnsafeBytes(write)
    }
}
