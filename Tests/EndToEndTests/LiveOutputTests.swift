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
