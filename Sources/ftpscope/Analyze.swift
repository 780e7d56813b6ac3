import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FTPSession
import PacketCapture
import Reports

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Analyze .pcap/.pcapng files and print every FTP reply.")

    @Argument(help: "Capture files or directories (searched for .pcap, .pcapng, .cap, and each with .gz, .zst or .lz4); - reads standard input.")
    var inputs: [String]

    @Option(name: .long, help: "text (default on a terminal) or jsonl (default otherwise).")
    var format: OutputFormat?

    @Flag(name: .long, help: "Also print a record for every client command.")
    var commands = false

    @Flag(name: .long, help: "Omit the per-session summary records.")
    var noSessions = false

    @Flag(name: .long, help: "Text output: print records as they happen instead of grouped by session.")
    var stream = false

    @Option(name: .long, help: "Files analyzed in parallel (output order stays by file); with one file, 0 (default) renders output on a second thread when there is a second core, 1 keeps everything on one thread.")
    var jobs: Int = 0

    @Option(name: .long, help: "Analyzers for one file, its connections split by address pair and the records merged back in order (0, the default: one per core unless --jobs 1; 1: a single analyzer).")
    var shards: Int = 0

    @Flag(name: .long, help: "Read the files as one capture, their packets merged in time order (as mergecap does): sessions and transfers that span files rotated by tcpdump -C or -G stay whole.")
    var merge = false

    @OptionGroup var options: AnalysisOptions

    static let maxShards = 64

    func validate() throws {
        guard shards >= 0, jobs >= 0 else { throw ValidationError("--shards and --jobs take a count, 0 for automatic") }
        // Each analyzer holds its batches in flight (megabytes): 100,000 of them ran out of memory.
        guard shards <= Self.maxShards else { throw ValidationError("--shards takes at most \(Self.maxShards) analyzers") }
    }

    func run() throws {
        let expansion = InputFiles.expand(inputs)
        let files = expansion.files
        let captures = CaptureInput.list(files, merged: merge)
        try options.prepare()
        let fmt = format ?? (Terminal.stdoutIsTTY ? .text : .jsonl)
        // With a second core, a writer thread writes one buffer while the next is rendered
        // (--jobs 1 keeps everything on one thread).
        let out = Output(background: self.jobs != 1 && ProcessInfo.processInfo.activeProcessorCount > 1)
        // Records already rendered reach stdout even when a later file cannot be read.
        defer { out.finish() }
        let encoder = RecordEncoder(language: options.lang, sessionRecords: !noSessions)
        let text = TextFormatter(language: options.lang, color: Terminal.colorAllowed, showCommands: commands, grouped: !stream)
        let jobs = self.jobs == 0 ? (captures.count > 1 ? ProcessInfo.processInfo.activeProcessorCount : 0) : self.jobs
        // One file on several cores: its connections are split over analyzers and the records
        // merged back in order (grouped text is grouped after the merge).
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let wanted = self.shards > 0 ? self.shards : (self.jobs == 0 ? cores : 1)
        let shards = captures.count == 1 ? wanted : 1
        // Command events exist only with --commands (the analyzer is told), and the encoder
        // leaves out session records itself: testing the event's case here copied it.
        let renderer = fmt == .jsonl
            ? { Renderer.jsonLines(encoder) }
            : { Renderer.text(text, sessions: !noSessions, split: shards > 1) }
        let result = try FileBatch.run(inputs: captures, jobs: jobs, shards: shards, options: options,
                                       progress: Terminal.stderrIsTTY, commands: commands, renderer: renderer, out: out)
        let read = files.count - result.unreadableFiles
        let unread = result.unreadableFiles + expansion.unreadable
        // Nothing read, nothing to sum up: the lines on stderr are the whole answer, as for
        // one missing file or a directory without captures.
        if read == 0 && (unread > 0 || !expansion.warnings.isEmpty) { throw Exit.inputUnreadable }
        switch fmt {
        case .jsonl: out.write(encoder.encodeSummary(result.summary, files: read, warnings: expansion.warnings + result.warnings))
        case .text: out.write(line: text.formatSummary(result.summary, files: read))
        }
        if unread > 0 { throw Exit.inputUnreadable }
        if result.damaged { throw Exit.inputDamaged }
    }
}
