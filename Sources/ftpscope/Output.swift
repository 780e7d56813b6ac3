#if canImport(Glibc)
import Glibc
#endif

/// Buffered writes to stdout; `flushEachRecord` for live streaming into pipes.
final class Output {
    private var buffer: [UInt8] = []
    private let fd: Int32
    var flushEachRecord = false

    init(fd: Int32 = STDOUT_FILENO) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if flushEachRecord || buffer.count >= 1 << 16 { flush() }
    }

    func write(line: String) { write(Array((line + "\n").utf8)) }

    func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; exit(errno == EPIPE ? 0 : 3) }
                off += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
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
