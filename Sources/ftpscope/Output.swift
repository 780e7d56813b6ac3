import Reports
#if canImport(Glibc)
import Glibc
#endif

/// Where records go: one long-lived buffer that renderers write into, flushed to a file
/// descriptor when full, or, streaming live, once its oldest record has waited `latency`.
///
/// With `background`, full buffers are handed to a writer thread and rendering continues in
/// the other buffer: the analysis never waits on write(2), and no record, event or allocation
/// crosses threads (an earlier design passed events to a rendering thread; the cross-thread
/// frees and reference counting cost more than the second core gave back).
final class Output {
    var buffer: JSONWriter
    /// Live streaming: the longest a rendered record may wait in the buffer, checked by
    /// `flushIfDue` between packets. A write per record (what this replaced) cost a system call
    /// per reply: at 250,000 packets/s on loopback the kernel dropped 6 % of the packets where
    /// tcpdump dropped none.
    var latency: Duration?
    /// When the oldest record still in the buffer was rendered (monotonic nanoseconds), 0 if none.
    private var oldestPending: Int64 = 0
    private let fd: Int32
    private let writer: BackgroundWriter?
    /// What goes out per write: a full buffer is flushed.
    let chunk: Int
    /// A buffer's allocation: a chunk and room for the record that crosses it.
    private let bufferSize: Int
    /// Offline, each full buffer wakes the writing thread: at 256 KiB the control-heavy
    /// capture's 880 MB of records took 3,400 wake-ups, half of the run's 7,200 voluntary context
    /// switches on two busy cores; 1 MiB halves them (1.245 -> 1.230 s).
    static let offlineChunk = 1 << 20
    /// Live, buffers mostly go out part-filled when their latency is up, and each counts as its
    /// full size in the backlog: a smaller chunk lets four times as many of them wait for a slow
    /// reader, and live output is limited by the wire, not by wake-ups.
    static let liveChunk = 1 << 18

    /// `backlog`: with `background`, bytes of buffers that may wait for the file descriptor
    /// (at least one buffer; each counts as its full size however little it holds).
    init(fd: Int32 = STDOUT_FILENO, background: Bool = false, backlog: Int = 0, chunk: Int = Output.offlineChunk) {
        self.fd = fd
        self.chunk = chunk
        bufferSize = chunk + 4096
        buffer = JSONWriter(capacity: bufferSize)
        writer = background
            ? BackgroundWriter(fd: fd, capacity: bufferSize, maxQueued: max(1, backlog / bufferSize)) : nil
    }

    /// The most bytes of buffers that waited for the file descriptor at once (with `background`).
    var peakBacklog: Int { (writer?.peakQueued ?? 0) * bufferSize }

    /// Whether rendering ever waited for a full backlog to drain.
    var backlogFilled: Bool { (writer?.fullWaits ?? 0) > 0 }

    /// Call after each record rendered into `buffer`.
    @inline(__always)
    func recordEnded() {
        if buffer.byteCount >= chunk { flush() } else if latency != nil, oldestPending == 0 { oldestPending = MonotonicClock.now() }
    }

    /// Flushes if the oldest buffered record has waited `latency`; `now` from `MonotonicClock`.
    func flushIfDue(now: Int64) {
        guard oldestPending != 0, let latency, now - oldestPending >= latency.nanoseconds else { return }
        flush()
    }

    func write(_ bytes: [UInt8]) {
        buffer.append(bytes: bytes)
        recordEnded()
    }

    func write(line: String) { write(Array((line + "\n").utf8)) }

    /// Sends what is buffered on its way; with a writer thread, returns before it is written.
    func flush() {
        oldestPending = 0
        guard buffer.byteCount > 0 else { return }
        if let writer {
            writer.hand(&buffer)
        } else {
            buffer.withUnsafeBytes { writeAll(fd, $0) }
            buffer.clear()
        }
    }

    /// Everything rendered so far has reached the file descriptor.
    func finish() {
        flush()
        writer?.drain()
    }
}

/// Writes every byte, retrying interrupted and partial writes; a closed pipe ends the program
/// quietly (`ftpscope … | head`), any other failure with the unreadable-output code.
func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer) {
    var off = 0
    while off < raw.count {
        let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
        if n < 0 { if errno == EINTR { continue }; exit(errno == EPIPE ? 0 : 3) }
        off += n
    }
}

/// A cheap monotonic clock for decisions made between packets (flushing, deadlines): the
/// coarse clock is read without a system call and is exact to a few milliseconds.
enum MonotonicClock {
    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, a) = components
        return s * 1_000_000_000 + a / 1_000_000_000
    }
}

enum Terminal {
    static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }
    static var colorAllowed: Bool { stdoutIsTTY && getenv("NO_COLOR") == nil }
}

/// One line on stderr, prefixed with the program name.
func warn(_ message: String) {
    let line = "ftpscope: " + message + "\n"
    let bytes = Array(line.utf8)
    _ = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
