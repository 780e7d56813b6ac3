#if canImport(Glibc)
import Glibc
#endif
import Reports

/// Bytes read of total, rate and time left, redrawn in place on stderr; only used when
/// stderr is a terminal.
final class ProgressBar {
    private let label: String
    private let start = ProgressBar.seconds()
    private var drawn = false

    init(label: String) { self.label = TerminalText.escape(label) }

    func update(_ done: Int64, _ total: Int64) {
        guard total > 0 else { return }
        let elapsed = max(ProgressBar.seconds() - start, 0.001)
        let fraction = min(1, Double(done) / Double(total))
        let rate = Double(done) / elapsed
        let left = rate > 0 ? Double(total - done) / rate : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let line = "\r\(label) [\(bar)] \(Int(fraction * 100))%  \(Int(rate / 1_048_576)) MiB/s  \(Int(left)) s left "
        let b = Array(line.utf8); _ = b.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        drawn = true
    }

    func finish() {
        if drawn { let b = Array("\r\u{1B}[K".utf8); _ = b.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) } }
    }

    private static func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
