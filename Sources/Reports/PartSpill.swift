#if canImport(Glibc)
import Glibc
#endif

/// Where the rendered parts of long open sessions go when together the open sessions' parts
/// outgrow the collector's budget: an unnamed temporary file written at its end and read back
/// chunk by chunk when each session ends. Without it a JUnit or HTML report held every open
/// session's rendered exchanges until the session ended, up to 5,000 of them: 390 MB (JUnit)
/// for 400 sessions that stayed open for 5,000 exchanges each.
final class PartSpill: @unchecked Sendable {
    // Used by the one thread that fills the collector.
    /// Where one piece of a session's parts lies in the file.
    struct Chunk: Sendable {
        let offset: Int
        let count: Int
    }

    private let file: UnsafeMutablePointer<FILE>
    private let descriptor: Int32
    /// Written to the file a megabyte at a time: a spill writes each open session's parts,
    /// thousands of small pieces.
    private var pending: [UInt8] = []
    /// Bytes in the file; `pending` follows them.
    private var written = 0
    private var failed = false
    /// Made once: a chunk is a few kilobytes, and a buffer zeroed per read cost more than the read.
    private var readBuffer = [UInt8](repeating: 0, count: 1 << 16)
    private static let pendingLimit = 1 << 20

    /// Nil when no temporary file can be made: the parts then stay in memory.
    init?() {
        guard let file = tmpfile() else { return nil }
        self.file = file
        descriptor = fileno(file)
    }

    deinit { fclose(file) }

    /// Where `bytes` now lie.
    func write(_ bytes: [UInt8]) -> Chunk {
        let chunk = Chunk(offset: written + pending.count, count: bytes.count)
        bytes.withUnsafeBytes { pending.append(contentsOf: $0) }
        if pending.count >= Self.pendingLimit && !failed { flush() }
        return chunk
    }

    /// The bytes of `chunk`, in pieces: from the file what reached it, the rest from memory.
    /// A read the file refuses ends the chunk early, as `SectionSpool` ends at a failed read.
    func read(_ chunk: Chunk, _ body: (UnsafeRawBufferPointer) -> Void) {
        var at = chunk.offset
        let end = chunk.offset + chunk.count
        while at < min(end, written) {
            let want = min(readBuffer.count, min(end, written) - at)
            let n = readBuffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, want, off_t(at)) }
            guard n > 0 else { return }
            readBuffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            at += n
        }
        if at < end {
            pending.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[(at - written)..<(end - written)])) }
        }
    }

    /// Moves what is pending to the file. After a failed write (a full disk) the rest stays in
    /// memory and no more writes are tried.
    private func flush() {
        var done = 0
        while done < pending.count {
            let n = pending.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + done, $0.count - done, off_t(written + done)) }
            guard n > 0 else { failed = true; break }
            done += n
        }
        pending.removeSubrange(0..<done)
        written += done
    }
}
