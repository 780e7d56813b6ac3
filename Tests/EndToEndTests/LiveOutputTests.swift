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
    out.write([UInt8](repeating: 0x20, count: 1 << 18))
    #expect(written() == 37 + (1 << 18))
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

/// A reader slower than the records (nobody reads the pipe at first) does not hold up the
/// hand-over until the backlog is full, and everything comes out once, in order.
@Test func outputQueuesUpToItsBacklog() throws {
    var fds: [Int32] = [0, 0]
    try #require(pipe(&fds) == 0)
    let (readEnd, writeEnd) = (fds[0], fds[1])
    defer { close(readEnd) }
    final class Shared: @unchecked Sendable {
        var output: Output
        init(_ o: Output) { output = o }
    }
    let shared = Shared(Output(fd: writeEnd, background: true, backlog: 16 << 20))
    var expected: [UInt8] = []
    for k in 0..<6 { expected += [UInt8](repeating: UInt8(0x61 + k), count: 100_000) }
    // Each buffer is larger than the pipe holds (64 KiB): the first write blocks until the
    // test reads, and the hand-overs after it must not.
    let handed = DispatchSemaphore(value: 0)
    Thread {
        for k in 0..<6 {
            shared.output.write([UInt8](repeating: UInt8(0x61 + k), count: 100_000))
            shared.output.flush()
        }
        handed.signal()
    }.start()
    let inTime = handed.wait(timeout: .now() + 10) == .success
    #expect(inTime, "the hand-overs waited for the reader")

    var got: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while got.count < expected.count {
        let n = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        got += chunk[0..<n]
    }
    if !inTime { handed.wait() }
    #expect(shared.output.peakBacklog >= 5 * (1 << 18))
    #expect(!shared.output.backlogFilled)
    shared.output.finish()
    close(writeEnd)
    #expect(got == expected)
}

/// A backlog too small for what the reader has not taken yet makes the hand-over wait, and
/// says so (live warns with it).
@Test func outputReportsAFullBacklog() throws {
    var fds: [Int32] = [0, 0]
    try #require(pipe(&fds) == 0)
    let (readEnd, writeEnd) = (fds[0], fds[1])
    defer { close(readEnd) }
    final class Shared: @unchecked Sendable {
        let output: Output
        init(_ o: Output) { output = o }
    }
    let shared = Shared(Output(fd: writeEnd, background: true, backlog: 0))
    let handed = DispatchSemaphore(value: 0)
    Thread {
        for _ in 0..<3 {
            shared.output.write([UInt8](repeating: 0x78, count: 100_000))
            shared.output.flush()
        }
        handed.signal()
    }.start()
    // Nothing is read yet and the pipe holds 64 KiB: the hand-overs cannot all be done.
    #expect(handed.wait(timeout: .now() + 0.5) == .timedOut)
    var total = 0
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while total < 300_000 {
        let n = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        total += n
    }
    handed.wait()
    shared.output.finish()
    close(writeEnd)
    #expect(total == 300_000)
    #expect(shared.output.backlogFilled)
}
