import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FTPSession
import PacketCapture
import Reports
#if canImport(Glibc)
import Glibc
#endif

enum InputFiles {
    /// The files to read, and what was wrong with the directories named (each already said on
    /// stderr).
    struct Expansion {
        var files: [String] = []
        var warnings: [String] = []
        /// Directories that could not be read: inputs unread, like a missing file.
        var unreadable = 0
    }

    /// Files as given, directories expanded to the captures inside them (sorted, recursive). A
    /// file named twice (a directory and a file in it, a link to it) is read once: merged, its
    /// packets twice over would be retransmissions of every segment. A directory that cannot be
    /// read, or holds no capture, is said rather than passed over in silence: either way its
    /// captures are not in the output, and the user should know why.
    static func expand(_ inputs: [String]) -> Expansion {
        var found = Expansion()
        for input in inputs {
            var st = stat()
            if stat(input, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
                var files: [String] = []
                let unreadable = found.unreadable
                walk(input, into: &files, found: &found)
                if files.isEmpty && found.unreadable == unreadable {
                    found.say("\(input): no capture files in it (.pcap, .pcapng or .cap, compressed with gzip, zstd or lz4 or not)")
                }
                found.files += files.sorted()
            } else {
                found.files.append(input)
            }
        }
        var seen: Set<FileIdentity> = []
        found.files = found.files.filter { path in
            var st = stat()
            return stat(path, &st) != 0 || seen.insert(FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))).inserted
        }
        return found
    }

    private struct FileIdentity: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    /// What a directory's captures are called, compressed (gzip, zstd, lz4) or not.
    static let captureSuffixes = [".pcap", ".pcapng", ".cap"].flatMap { [$0, $0 + ".gz", $0 + ".zst", $0 + ".lz4"] }

    private static func walk(_ dir: String, into out: inout [String], found: inout Expansion) {
        guard let d = opendir(dir) else {
            found.say("\(dir): cannot read directory (\(String(cString: strerror(errno))))")
            found.unreadable += 1
            return
        }
        defer { closedir(d) }
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = dir.hasSuffix("/") ? dir + name : dir + "/" + name
            var st = stat()
            guard stat(path, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR { walk(path, into: &out, found: &found) }
            else if Self.captureSuffixes.contains(where: { name.hasSuffix($0) }) { out.append(path) }
        }
    }
}

extension InputFiles.Expansion {
    mutating func say(_ warning: String) {
        warn(warning)
        warnings.append(warning)
    }
}

/// What one analysis reads: a capture file, or several read as one capture (`--merge`).
struct CaptureInput: Sendable {
    let paths: [String]

    /// Each file on its own, or all of them as one.
    static func list(_ files: [String], merged: Bool) -> [CaptureInput] {
        merged && files.count > 1 ? [CaptureInput(paths: files)] : files.map { CaptureInput(paths: [$0]) }
    }

    /// What the progress bar calls it.
    var label: String { paths.count == 1 ? paths[0] : "\(paths.count) files merged" }
}

/// Renders events into the output buffer (or nothing, for events the format leaves out).
/// Replies have an entry of their own, which the analyzer calls without wrapping them in an
/// event (see `EventSink`); a format without one renders them as events.
///
/// A renderer may hold state (grouped text, a line buffer), so each thread that renders gets
/// its own from the factory `FileBatch.run` is given.
struct Renderer {
    let event: (AnalysisEvent, inout JSONWriter) -> Void
    let reply: (ReplyEvent, inout JSONWriter) -> Void
    /// Writes what the renderer still holds once a file's analysis has ended.
    var finish: (inout JSONWriter) -> Void = { _ in }
    /// Grouped text split over analyzers: each session's heading, rendered when the session
    /// starts, for the merger that groups the records (see `RecordMerger`).
    var heading: ((SessionIdentity, inout JSONWriter) -> Void)?

    init(_ event: @escaping (AnalysisEvent, inout JSONWriter) -> Void) {
        self.event = event
        reply = { r, w in event(.reply(r), &w) }
    }

    init(replies: @escaping (ReplyEvent, inout JSONWriter) -> Void, others: @escaping (AnalysisEvent, inout JSONWriter) -> Void) {
        event = others
        reply = replies
    }

    /// JSON Lines: replies straight from the analyzer (see `EventSink`), the rest as events.
    static func jsonLines(_ encoder: RecordEncoder) -> Renderer {
        Renderer(replies: { encoder.encode(reply: $0, into: &$1) }, others: { encoder.encode($0, into: &$1) })
    }

    /// Text: grouped by session when the formatter says so, else a line per record as it
    /// happens. `split`: for one of several analyzers whose records a merger groups.
    static func text(_ formatter: TextFormatter, sessions: Bool, split: Bool = false) -> Renderer {
        guard formatter.grouped, !split else {
            let lines = TextLines(formatter: formatter)
            var r = Renderer { event, buffer in
                if !sessions, event.kind == .session { return }
                lines.write(event, into: &buffer)
            }
            if formatter.grouped { r.heading = { lines.writeHeading($0, into: &$1) } }
            return r
        }
        let grouper = SessionGrouper(formatter: formatter, sessionSummaries: sessions)
        var r = Renderer { event, buffer in
            grouper.add(event) { buffer.append(bytes: $0) }
        }
        r.finish = { buffer in
            let rest = grouper.flush()
            if !rest.isEmpty { buffer.append(bytes: rest) }
        }
        return r
    }

    /// An analyzer's sink that renders with this renderer: `write` is handed each record's
    /// rendering and runs it on its buffer, with whatever follows a record there.
    func sink(_ write: @escaping (_ render: (inout JSONWriter) -> Void) -> Void) -> EventSink {
        let event = self.event, reply = self.reply
        return EventSink(replies: { r in write { reply(r, &$0) } }, others: { e in write { event(e, &$0) } })
    }
}

/// A worker's records for one file, buffered and written to its spool file in large pieces.
private final class SpoolBuffer {
    var buffer = JSONWriter(capacity: (1 << 16) + 4096)
    let file: UnsafeMutablePointer<FILE>
    init(_ file: UnsafeMutablePointer<FILE>) { self.file = file }
    func flush() {
        buffer.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, file) }
        buffer.clear()
    }
}

struct BatchResult {
    var summary = CaptureSummary()
    var warnings: [String] = []
    var damaged = false
    /// Files of inputs that could not be read at all (missing, not a capture, permission
    /// denied): each said once on stderr and in `warnings`, the other inputs still analyzed.
    var unreadableFiles = 0
}

/// Analyzes files one after another, or several at once (`--jobs`) with each file's records
/// spooled to a temporary file and copied out in file order, so output stays deterministic and
/// memory stays flat.
enum FileBatch {
    /// `shards` > 1 splits each file's connections over that many analyzers (see
    /// `ShardedAnalysis`). `renderer` makes a renderer for each thread that renders (one for
    /// all the files analyzed one after another on this thread).
    static func run(inputs: [CaptureInput], jobs: Int, shards: Int = 1, options: AnalysisOptions, progress: Bool,
                    commands: Bool = true, renderer: @escaping () -> Renderer, out: Output) throws -> BatchResult {
        let prefix: (Int) -> String = { inputs.count > 1 ? "f\($0 + 1)." : "" }
        if jobs <= 1 || inputs.count <= 1 {
            var result = BatchResult()
            let render = renderer()
            for (i, input) in inputs.enumerated() {
                let bar = progress ? ProgressBar(label: input.label) : nil
                let report = bar.map { b in { b.update($0, $1) } }
                do throws(CaptureError) {
                    let outcome: InputOutcome
                    if shards > 1 {
                        outcome = try ShardedAnalysis.run(input.paths, filter: options.filter,
                                                          configuration: options.configuration(prefix: prefix(i), commands: commands),
                                                          shards: shards, renderer: renderer, out: out, progress: report)
                    } else {
                        let sink = render.sink { record in
                            record(&out.buffer)
                            out.recordEnded()
                        }
                        // A file that cannot be read still hands over what was rendered before.
                        defer { render.finish(&out.buffer); out.recordEnded() }
                        outcome = try analyzeQuietly(input, options: options, prefix: prefix(i), commands: commands,
                                                     progress: report, sink: sink)
                    }
                    bar?.finish()
                    absorb(outcome, of: input, into: &result)
                } catch {
                    bar?.finish()
                    try skip(input, error, in: &result)
                }
            }
            return result
        }
        return try runParallel(inputs: inputs, jobs: jobs, options: options, prefix: prefix, commands: commands,
                               renderer: renderer, out: out)
    }

    /// An input that cannot be read is said and left out, as `grep` and `cat` leave out a
    /// missing file: one bad file in a directory of captures does not cost the others their
    /// analysis, nor the run its summary. A filter libpcap rejects is the user's mistake for
    /// every file alike and ends the run.
    static func skip(_ input: CaptureInput, _ error: CaptureError, in result: inout BatchResult) throws {
        if stopsRun(error) { throw failed(error) }
        warn(error.description)
        result.warnings.append(error.description)
        result.unreadableFiles += input.paths.count
    }

    static func stopsRun(_ error: CaptureError) -> Bool {
        if case .badFilter = error { return true }
        return false
    }

    private static func absorb(_ outcome: InputOutcome, of input: CaptureInput, into result: inout BatchResult) {
        result.summary.merge(outcome.summary)
        sayTroubles(outcome, of: input, into: &result)
    }

    /// What went wrong with an input that was read (damage read past, packets of a link type
    /// not decoded): each said on stderr and kept for the summary's warnings.
    static func sayTroubles(_ outcome: InputOutcome, of input: CaptureInput, into result: inout BatchResult) {
        for damage in outcome.damages {
            result.damaged = true
            result.warnings.append(damage.description)
            warn(damage.description)
        }
        for notice in notices(outcome, of: input) {
            result.warnings.append(notice)
            warn(notice)
        }
    }

    /// What an input that was read still leaves unsaid: packets of a link type ftpscope does
    /// not decode. Counted only, a capture of such a link read as one without FTP.
    private static func notices(_ outcome: InputOutcome, of input: CaptureInput) -> [String] {
        let s = outcome.summary
        guard s.unsupportedLinkType > 0 else { return [] }
        return ["\(input.label): \(s.unsupportedLinkType) of \(s.packets) packets have a link type ftpscope does not decode "
                + "(\(s.unsupportedLinkTypeNames)) and were skipped"]
    }

    /// One input's analysis, its failure left for the caller to say (`skip`, `failed`): files
    /// analyzed in parallel say theirs in file order, as a run one file after another would.
    static func analyzeQuietly(_ input: CaptureInput, options: AnalysisOptions, prefix: String, commands: Bool = true,
                               progress: ((Int64, Int64) -> Void)?, sink: EventSink) throws(CaptureError) -> InputOutcome {
        try CaptureDriver.analyzeFiles(input.paths, filter: options.filter,
                                      configuration: options.configuration(prefix: prefix, commands: commands),
                                      progress: progress, sink: sink)
    }

    /// A file that cannot be opened or filtered: one line on stderr and the documented exit code.
    static func failed(_ error: CaptureError) -> ExitCode {
        warn(error.description)
        if case .badFilter = error { return Exit.usage }
        return Exit.inputUnreadable
    }

    /// Shared state of one parallel run: each file's slot is written by exactly one worker and
    /// read only after all have joined.
    private final class ParallelRun: @unchecked Sendable {
        final class Slot {
            var outcome: InputOutcome?
            var failure: CaptureError?
            var spool: UnsafeMutablePointer<FILE>?
        }
        let inputs: [CaptureInput]
        let options: AnalysisOptions
        let prefix: (Int) -> String
        let commands: Bool
        let renderer: () -> Renderer
        let slots: [Slot]
        let firstFailure = FirstFailure()

        init(inputs: [CaptureInput], options: AnalysisOptions, prefix: @escaping (Int) -> String, commands: Bool,
             renderer: @escaping () -> Renderer) {
            self.inputs = inputs; self.options = options; self.prefix = prefix; self.commands = commands
            self.renderer = renderer
            slots = inputs.map { _ in Slot() }
        }

        func work(_ i: Int) {
            // The run stops at a file whose failure stops it (`stopsRun`); files after it would
            // not be written.
            guard !firstFailure.precedes(i) else { return }
            guard let spool = tmpfile() else {
                fail(i, .readFailed(path: inputs[i].label, reason: "no temporary file for its records: " + String(cString: strerror(errno))))
                return
            }
            slots[i].spool = spool
            let local = SpoolBuffer(spool)
            let render = renderer()
            defer {
                render.finish(&local.buffer)
                local.flush()
            }
            do {
                let sink = render.sink { record in
                    record(&local.buffer)
                    if local.buffer.byteCount >= 1 << 16 { local.flush() }
                }
                slots[i].outcome = try FileBatch.analyzeQuietly(inputs[i], options: options, prefix: prefix(i),
                                                                commands: commands, progress: nil, sink: sink)
            } catch {
                fail(i, error)
            }
        }

        private func fail(_ i: Int, _ error: CaptureError) {
            slots[i].failure = error
            if FileBatch.stopsRun(error) { firstFailure.record(i) }
        }
    }

    private static func runParallel(inputs: [CaptureInput], jobs: Int, options: AnalysisOptions, prefix: @escaping (Int) -> String,
                                    commands: Bool, renderer: @escaping () -> Renderer, out: Output) throws -> BatchResult {
        let run = ParallelRun(inputs: inputs, options: options, prefix: prefix, commands: commands, renderer: renderer)
        concurrentForEach(inputs.count, workers: jobs) { run.work($0) }
        let slots = run.slots
        var result = BatchResult()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        for (i, slot) in slots.enumerated() {
            if let spool = slot.spool {
                rewind(spool)
                while true {
                    let n = fread(&buffer, 1, buffer.count, spool)
                    if n <= 0 { break }
                    buffer.withUnsafeBytes { out.buffer.append(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                    out.recordEnded()
                }
                fclose(spool)
            }
            if let f = slot.failure {
                if stopsRun(f) { out.finish() }
                try skip(inputs[i], f, in: &result)
            }
            if let o = slot.outcome { absorb(o, of: inputs[i], into: &result) }
        }
        return result
    }
}

