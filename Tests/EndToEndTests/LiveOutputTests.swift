@testable import ftpscope
import Foundation
import Testing

/// Live output is written when a record has waited `latency` (or the buffer fills), not per
/// record: checked on a real file descriptor.
@Test func liveOutputWaitsForItsLatency() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ftpscope-live-\(getpid()).jsonl").path
    let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
    try #require(fd >= 0)
    defer { close(fd); unlink(path) }
    func written() -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1 }

    let out = Output(fd: fd)
    out.latency = .milliseconds(50)
    let rendered = MonotonicClock.now()
    out.write(Array("{\"type\":\"reply\"}\n".utf8))
    out.write(Array("{\"type\":\"reply\"}\n".utf8))
    #expect(written() == 0)
    // Measured from the first record: the second does not restart the wait. The coarse clock
    // may have ticked between `rendered` and the first record, hence the margin.
    out.flushIfDue(now: rendered + 40_000_000)
    #expect(written() == 0)
    out.flushIfDue(now: MonotonicClock.now() + 50_000_000)
    #expect(written() == 34)

    // Once flushed, the next record starts a new wait.
    out.write(Array("{}\n".utf8))
    out.flushIfDue(now: MonotonicClock.now() + 10_000_000)
    #expect(written() == 34)
    out.flush()
    #expect(written() == 37)

    // A full buffer goes out at once, whatever the latency.
    out.write([UInt8](repeating: 0x20, count: out.chunk))
    #expect(written() == 37 + out.chunk)
}

/// Without a latency (offline), records wait for a full buffer or the end.
@Test func offlineOutputWaitsForAFullBuffer() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ftpscope-offline-\(getpid()).jsonl").path
    let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
    try #require(fd >= 0)
    defer { close(fd); unlink(path) }
    let out = Output(fd: fd)
    out.write(Array("{}\n".utf8))
    out.flushIfDue(now: .max)
    #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) == 0)
    out.finish()
    #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) == 3)
}

/// An `Output` writing into a pipe that nobody reads until `read(_:)`: buffers larger than
/// the pipe holds (64 KiB) are handed over on a thread of their own, so that the test can see
/// whether the hand-overs waited.
private final class PipedOutput: @unchecked Sendable {
    let output: Output
    private let readEnd: Int32, writeEnd: Int32
    private let handed = DispatchSemaphore(value: 0)
    private var waited = false

    init(backlog: Int) throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        (readEnd, writeEnd) = (fds[0], fds[1])
        output = Output(fd: writeEnd, background: true, backlog: backlog, chunk: Output.liveChunk)
    }

    /// Hands each buffer over, from another thread.
    func hand(_ buffers: [[UInt8]]) {
        Thread { [self] in
            for b in buffers { output.write(b); output.flush() }
            handed.signal()
        }.start()
    }

    /// Whether every hand-over was done within `seconds`, nothing read.
    func handedWithin(_ seconds: Double) -> Bool {
        waited = handed.wait(timeout: .now() + seconds) == .timedOut
        return !waited
    }

    /// Reads `count` bytes, then lets the writer finish.
    func read(_ count: Int) -> [UInt8] {
        var got: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while got.count < count {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            got += chunk[0..<n]
        }
        if waited { handed.wait() }
        output.finish()
        close(writeEnd)
        close(readEnd)
        return got
    }
}

/// A reader slower than the records does not hold up the hand-over until the backlog is
/// full, and everything comes out once, in order.
@Test func outputQueuesUpToItsBacklog() throws {
    let piped = try PipedOutput(backlog: 16 << 20)
    let buffers = (0..<6).map { [UInt8](repeating: UInt8(0x61 + $0), count: 100_000) }
    piped.hand(buffers)
    #expect(piped.handedWithin(10), "the hand-overs waited for the reader")
    #expect(piped.output.peakBacklog >= 5 * piped.output.chunk)
    #expect(piped.read(600_000) == buffers.flatMap { $0 })
    #expect(!piped.output.backlogFilled)
}

/// A backlog too small for what the reader has not taken yet makes the hand-over wait, and
/// says so (live warns with it).
@Test func outputReportsAFullBacklog() throws {
    let piped = try PipedOutput(backlog: 0)
    piped.hand(Array(repeating: [UInt8](repeating: 0x78, count: 100_000), count: 3))
    #expect(!piped.handedWithin(0.5))
    #expect(piped.read(300_000).count == 300_000)
    #expect(piped.output.backlogFilled)
}
