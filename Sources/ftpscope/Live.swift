import ArgumentParser
import Dispatch
import FTPSession
import PacketCapture
import Reports
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

struct Live: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sniff an interface and stream FTP replies as they complete; Ctrl-C prints the summary.")

    @Option(name: .shortAndLong, help: "Interface to capture on (see 'ftpscope interfaces').")
    var interface: String

    @Option(name: .long, help: "text (default on a terminal) or jsonl (default otherwise).")
    var format: OutputFormat?

    @Option(name: .long, help: "Also save every packet seen to this pcap file.")
    var write: String?

    @Option(name: .long, help: "Stop after this many seconds.")
    var duration: Double?

    @Option(name: .long, help: "Stop after this many packets.")
    var count: Int?

    @Option(name: .long, help: "Drop root privileges to this user once the interface is open (like tcpdump -Z).")
    var user: String?

    @Flag(name: .long, help: "Also print a record for every client command.")
    var commands = false

    @Flag(name: .long, help: "Capture in promiscuous mode.")
    var promiscuous = false

    @Flag(name: .long, help: "Deliver each packet as it arrives (like tcpdump --immediate-mode) rather than in blocks of at most 100 ms: lower latency, more system calls, drops sooner under load.")
    var immediate = false

    @Option(name: .customLong("buffer-size"), help: "Kernel capture buffer in MiB (a larger one drops less under load).")
    var bufferSize: Int32 = 32

    @Option(name: .customLong("output-backlog"), help: "Output in MiB that may wait for a slow reader of stdout (| jq) before the capture waits and the kernel drops packets.")
    var outputBacklog: Int = 256

    @OptionGroup var options: AnalysisOptions

    func validate() throws {
        guard outputBacklog >= 1, outputBacklog <= 1 << 20 else { throw ValidationError("--output-backlog takes 1 to 1048576 MiB") }
        // libpcap takes the buffer in bytes as a 32-bit int: 4096 MiB shifted to nothing.
        guard (1...2047).contains(bufferSize) else { throw ValidationError("--buffer-size takes 1 to 2047 MiB") }
        // Converted to nanoseconds for the deadline: `nan` and 1e20 trapped there.
        if let d = duration, !(d.isFinite && d > 0 && d <= Double(AnalysisOptions.hundredYears)) {
            throw ValidationError("--duration takes a number of seconds above 0, at most \(AnalysisOptions.hundredYears) (100 years)")
        }
        if let c = count, c < 1 { throw ValidationError("--count takes 1 or more packets") }
    }

    func run() throws {
        let source: PcapSource
        do {
            source = try PcapSource.openLive(interface: interface, promiscuous: promiscuous, immediate: immediate,
                                             bufferSize: bufferSize << 20)
            if let filter = options.filter { try source.setFilter(filter) }
            if let write { try source.startWriting(to: write) }
        } catch {
            warn(error.description)
            if case .badFilter = error { throw Exit.usage }
            throw Exit.inputUnreadable
        }
        // Said at the start, not after hours of nothing: an interface whose frames are not
        // decoded (Bluetooth, D-Bus) would be counted and skipped, packet by packet.
        if case .unsupported = source.linkType {
            warn("\(interface): link type \(source.linkType.name) is not one ftpscope decodes: its packets will be counted and skipped")
        }
        if let user { try dropPrivileges(to: user) }
        // Files are written as the user the capture runs as from here on.
        try options.prepare()

        let fmt = format ?? (Terminal.stdoutIsTTY ? .text : .jsonl)
        // Output is written on a thread of its own, so that a reader of stdout slower than the
        // wire holds up neither the analysis nor the kernel's buffer until the backlog is full.
        let out = Output(background: true, backlog: outputBacklog << 20, chunk: Output.liveChunk)
        // Records, and the saved file, stream within a twentieth of a second, and at once when
        // the capture has caught up with the kernel.
        let latency = Duration.milliseconds(50)
        out.latency = latency
        let encoder = RecordEncoder(language: options.lang)
        let text = TextFormatter(language: options.lang, color: Terminal.colorAllowed, showCommands: commands)
        let lines = TextLines(formatter: text)

        // Signals arrive on their own queue; the capture loop polls the flag between reads
        // (libpcap returns every 100 ms) and breakloop wakes a blocked read at once.
        let stop = StopFlag()
        signal(SIGINT, SIG_IGN); signal(SIGTERM, SIG_IGN)
        let queue = DispatchQueue(label: "ftpscope.signals")
        let sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
            let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            s.setEventHandler { stop.set(); source.breakLoop() }
            s.resume()
            return s
        }
        defer { sources.forEach { $0.cancel() } }
        let deadline = duration.map { MonotonicClock.now() + Int64($0 * 1e9) }
        var packets = 0
        // The saved file is flushed on the same terms as the records (a flush per packet was a
        // write per packet), so at most a twentieth of a second of it is unwritten at any time.
        var writerFlushed = MonotonicClock.now()

        let outcome = CaptureDriver.run(
            source, configuration: options.configuration(commands: commands),
            readAheadFrom: PacketWindow.worthwhileFrom,
            shouldStop: {
                if stop.isSet { return true }
                if let deadline, MonotonicClock.now() >= deadline { return true }
                if let count, packets >= count { return true }
                return false
            },
            drainWhenStopped: { count.map { packets < $0 } ?? true },
            afterEach: {
                packets += 1
                let now = MonotonicClock.now()
                out.flushIfDue(now: now)
                if write != nil, now - writerFlushed >= latency.nanoseconds { source.flushWriter(); writerFlushed = now }
            },
            idle: {
                out.flush()
                source.flushWriter()
                writerFlushed = MonotonicClock.now()
            },
            sink: fmt == .jsonl
                ? Renderer.jsonLines(encoder).sink { record in record(&out.buffer); out.recordEnded() }
                : EventSink { event in
                    if lines.write(event, into: &out.buffer) { out.recordEnded() }
                })
        source.flushWriter()
        let stats = source.statistics()
        var warnings: [String] = []
        if let d = outcome.damage, !stop.isSet { warnings.append(d.description); warn(d.description) }
        if out.backlogFilled {
            // Why the kernel may have dropped: the capture waited on stdout.
            let w = "stdout was slower than the capture and the output backlog (\(outputBacklog) MiB) filled: the capture waited, and the kernel may have dropped packets (--output-backlog, or a faster reader)"
            warnings.append(w); warn(w)
        }
        switch fmt {
        case .jsonl:
            out.write(encoder.encodeSummary(outcome.summary, files: 0, warnings: warnings, capture: stats.map {
                (received: Int($0.received), droppedByKernel: Int($0.droppedByKernel), droppedByInterface: Int($0.droppedByInterface))
            }))
        case .text:
            out.write(line: text.formatSummary(outcome.summary, files: 0))
            if let s = stats {
                out.write(line: "capture: \(s.received) packets received, \(s.droppedByKernel) dropped by kernel, \(s.droppedByInterface) dropped by interface")
            }
        }
        out.finish()
    }

    private func dropPrivileges(to name: String) throws {
        guard let pw = getpwnam(name) else {
            warn("unknown user '\(name)' for --user")
            throw Exit.usage
        }
        guard setgroups(0, nil) == 0 || getuid() != 0, setgid(pw.pointee.pw_gid) == 0, setuid(pw.pointee.pw_uid) == 0 else {
            warn("cannot drop privileges to '\(name)': \(String(cString: strerror(errno)))")
            throw Exit.inputUnreadable
        }
    }
}

/// Set from the signal queue, read by the capture loop after every packet.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
