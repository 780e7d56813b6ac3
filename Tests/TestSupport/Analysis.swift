import FTPSession
import PacketCapture
import Reports

/// Runs the real pipeline (libpcap → decoder → analyzer) on a file and collects what it says.
public struct AnalysisRun {
    public var events: [AnalysisEvent] = []
    public var outcome: InputOutcome?

    public var replies: [ReplyEvent] { events.compactMap { if case .reply(let r) = $0 { r } else { nil } } }
    public var commands: [CommandEvent] { events.compactMap { if case .command(let c) = $0 { c } else { nil } } }
    public var gaps: [GapEvent] { events.compactMap { if case .gap(let g) = $0 { g } else { nil } } }
    public var sessions: [SessionSummary] { events.compactMap { if case .session(let s) = $0 { s } else { nil } } }
    public var summary: CaptureSummary { outcome!.summary }

    /// Reply lines as text, one string per reply (lines joined by LF).
    public var replyTexts: [String] { replies.map { $0.reply.lines.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n") } }
    public var codes: [Int?] { replies.map(\.reply.code) }

    public static func of(_ path: String, configuration: AnalyzerConfiguration = AnalyzerConfiguration(),
                          filter: String? = nil) throws -> AnalysisRun {
        var run = AnalysisRun()
        var events: [AnalysisEvent] = []
        run.outcome = try CaptureDriver.analyzeFile(path, filter: filter, configuration: configuration,
                                                    sink: EventSink { events.append($0) })
        run.events = events
        return run
    }

    /// The JSON Lines the CLI prints for these events (with command records), summary excluded.
    public func jsonLines() -> [String] {
        let encoder = RecordEncoder()
        return events.map { String(decoding: encoder.encode($0).dropLast(), as: UTF8.self) }
    }
}

extension Conversation {
    /// Writes this conversation alone to a temporary pcap and analyzes it.
    public func analyze(_ name: String, configuration: AnalyzerConfiguration = AnalyzerConfiguration()) throws -> AnalysisRun {
        let path = CaptureFile.temporaryPath(name)
        try CaptureFile.write(packets: packets, linkType: linkType, to: path)
        return try AnalysisRun.of(path, configuration: configuration)
    }
}
