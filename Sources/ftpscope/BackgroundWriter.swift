import Foundation
import Reports

/// Double buffering for `Output`: the rendering thread hands over a full buffer and takes
/// back the one written last, so at most two buffers exist and memory stays flat.
final class BackgroundWriter: @unchecked Sendable {
    private let fd: Int32
    private let condition = NSCondition()
    /// The buffer being written, or an empty one waiting to be exchanged.
    private var pending: JSONWriter
    private var busy = false
    private var stopping = false
    private var stopped = false

    init(fd: Int32, capacity: Int) {
        self.fd = fd
        pending = JSONWriter(capacity: capacity)
        let t = Thread { [unowned self] in self.run() }
        t.name = "ftpscope-write"
        t.start()
    }

    /// Takes the bytes in `buffer` and gives back an empty buffer.
    func hand(_ buffer: inout JSONWriter) {
        condition.lock()
        while busy { condition.wait() }
        pending.exchange(with: &buffer)
        busy = true
        condition.broadcast()
        condition.unlock()
        buffer.clear()
    }

    /// Waits until the last handed buffer is written; the thread then ends.
    func drain() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func run() {
        condition.lock()
        while true {
            while !busy && !stopping { condition.wait() }
            if busy {
                condition.unlock()
                // Only this thread touches `pending` while `busy` is set.
                pending.withUnsafeBytes { writeAll(fd, $0) }
                condition.lock()
                busy = false
                condition.broadcast()
                continue
            }
            stopped = true
            condition.broadcast()
            condition.unlock()
            return
        }
    }
}
