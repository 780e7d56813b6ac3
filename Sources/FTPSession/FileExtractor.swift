import Glibc
import PacketCapture

/// Writes the files that data connections carried into one directory (`--extract`), as tshark's
/// `--export-objects ftp-data` and Zeek's file extraction do. Each direction of a data
/// connection is written, its bytes put in order, to a hidden file of its own; when the
/// connection ends the direction that carried the file is renamed after its transfer and the
/// other removed. A byte the capture lost is a hole in the file, so every later byte stays at
/// its offset in the file.
///
/// One per analyzer. Its descriptors are pooled: a capture with thousands of transfers open at
/// once must not run out of them, so a file not written to for a while is closed and opened
/// again when its next buffer is full.
public final class FileExtractor {
    public let directory: String
    /// Files written and kept, and failures by their reason (`strerror`), for the summary.
    private(set) var filesKept = 0
    private(set) var failures: [String: Int] = [:]
    private var open: [ExtractionFile] = []
    /// Bytes waiting in all files' buffers. Past `bufferBudget` a file writes what it holds at
    /// once: a capture with a hundred thousand transfers open must not hold a buffer for each.
    fileprivate(set) var buffered = 0
    static let bufferBudget = 16 << 20
    private var random = SystemRandomNumberGenerator()
    static let maxOpenFiles = 32
    var openFiles: Int { open.count }

    public init(directory: String) {
        self.directory = directory
    }

    /// A hidden file for one direction of a data connection; nothing is created on disk before
    /// its first buffer is written.
    func newFile() -> ExtractionFile {
        ExtractionFile(extractor: self)
    }

    /// Creates or reopens `file` for writing, closing the file opened longest ago beyond the pool.
    fileprivate func descriptor(for file: ExtractionFile) -> Int32? {
        if file.fd >= 0 { return file.fd }
        if open.count >= Self.maxOpenFiles { close(open.removeFirst()) }
        if file.path == nil {
            // A name nobody else uses: O_EXCL refuses one that exists.
            for _ in 0..<8 {
                let candidate = "\(directory)/.ftpscope-\(getpid())-\(String(random.next(), radix: 36)).part"
                let fd = Glibc.open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
                if fd >= 0 { file.path = candidate; file.fd = fd; break }
                if errno != EEXIST { fail(errno); return nil }
            }
        } else {
            file.fd = Glibc.open(file.path!, O_WRONLY | O_CLOEXEC)
            if file.fd < 0 { fail(errno); return nil }
        }
        guard file.fd >= 0 else { fail(EEXIST); return nil }
        open.append(file)
        return file.fd
    }

    fileprivate func close(_ file: ExtractionFile) {
        guard file.fd >= 0 else { return }
        _ = Glibc.close(file.fd)
        file.fd = -1
        if let i = open.firstIndex(where: { $0 === file }) { open.remove(at: i) }
    }

    fileprivate func fail(_ code: Int32) {
        failures[String(cString: strerror(code)), default: 0] += 1
    }

    /// Gives the finished file its name in the directory, never replacing a file there
    /// (`name~1`, `name~2`, … when one is taken); returns the path, or nil when nothing could be
    /// kept. An empty file is removed: a direction that carried nothing.
    func keep(_ file: ExtractionFile, as name: String) -> String? {
        guard file.finish(), let temporary = file.path else { discard(file); return nil }
        var failure = EEXIST
        for attempt in 0..<1000 where failure == EEXIST {
            let path = "\(directory)/\(name)\(attempt == 0 ? "" : "~\(attempt)")"
            failure = place(temporary, at: path)
            if failure == 0 { file.path = nil; filesKept += 1; return path }
        }
        fail(failure)
        discard(file)
        return nil
    }

    /// Moves `temporary` to `path` unless a file is there; 0, or the error. A hard link refuses
    /// a name that exists by itself; a file system without hard links gets a rename after a check.
    private func place(_ temporary: String, at path: String) -> Int32 {
        if link(temporary, path) == 0 { unlink(temporary); return 0 }
        let linkError = errno
        guard linkError == EPERM || linkError == ENOTSUP else { return linkError }
        if access(path, F_OK) == 0 { return EEXIST }
        return rename(temporary, path) == 0 ? 0 : errno
    }

    /// Removes a file nobody will keep (the direction that did not carry the transfer).
    func discard(_ file: ExtractionFile) {
        file.drop()
        close(file)
        if let path = file.path { unlink(path); file.path = nil }
    }

    /// The name a transfer's file gets: when its data connection opened, its two ends, the
    /// command and the name the client gave, reduced to characters that are safe in a file
    /// name and cannot leave the directory (`../` and `/` become `_`).
    static func name(opened: Timestamp, client: Endpoint, server: Endpoint, command: String?, path: String?) -> String {
        let ns = opened.nanoseconds
        let (s, f) = (ns.quotientAndRemainder(dividingBy: 1_000_000_000))
        let fraction = String(f / 1000)
        var name = "\(s).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)"
        name += "-" + safe(client.description) + "-" + safe(server.description)
        name += "-" + safe(command ?? "data")
        if let path {
            let base = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? ""
            var cleaned = safe(base)
            while cleaned.hasPrefix(".") { cleaned.removeFirst() }
            if !cleaned.isEmpty { name += "-" + String(cleaned.utf8.prefix(120))! }
        }
        // NAME_MAX is 255 bytes, with room left for `~N`: two IPv6 ends and a long name reach it.
        return String(name.utf8.prefix(240))!
    }

    private static func safe(_ text: String) -> String {
        String(decoding: text.utf8.map { b in
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "+"):
                b
            default: UInt8(ascii: "_")
            }
        }, as: UTF8.self)
    }
}

/// One direction of a data connection on its way to disk: in-order bytes gathered into a
/// buffer and written at their offset in the file; a hole skips the offset ahead.
final class ExtractionFile {
    unowned let extractor: FileExtractor
    fileprivate var path: String?
    fileprivate var fd: Int32 = -1
    private var buffer: [UInt8] = []
    /// Where the buffer's first byte goes in the file.
    private var offset = 0
    private(set) var failed = false
    static let bufferSize = 64 * 1024

    init(extractor: FileExtractor) { self.extractor = extractor }

    deinit { if fd >= 0 { _ = Glibc.close(fd) } }

    var size: Int { offset + buffer.count }

    func append(_ bytes: UnsafeRawBufferPointer) {
        guard !failed else { return }
        if buffer.count + bytes.count > Self.bufferSize || extractor.buffered + bytes.count > FileExtractor.bufferBudget {
            flush()
        }
        if bytes.count >= Self.bufferSize || extractor.buffered + bytes.count > FileExtractor.bufferBudget {
            write(bytes)
        } else {
            buffer.append(contentsOf: bytes)
            extractor.buffered += bytes.count
        }
    }

    /// Bytes never captured: later bytes keep their offsets (the file has a hole, read as zeros).
    func skip(_ count: Int) {
        guard !failed else { return }
        flush()
        offset += count
    }

    /// Writes what is buffered and closes the file; false when a write failed or the file
    /// carried nothing.
    fileprivate func finish() -> Bool {
        flush()
        buffer = []
        guard !failed, offset > 0 else { return false }
        // A trailing hole leaves no bytes to write: give the file its length.
        if let fd = extractor.descriptor(for: self) {
            if ftruncate(fd, off_t(offset)) != 0 { extractor.fail(errno); failed = true }
        } else {
            failed = true
        }
        extractor.close(self)
        return !failed
    }

    /// Lets the buffered bytes go unwritten: the file will not be kept.
    fileprivate func drop() {
        extractor.buffered -= buffer.count
        buffer = []
        failed = true
    }

    private func flush() {
        guard !buffer.isEmpty else { return }
        if !failed { buffer.withUnsafeBytes { write($0) } }
        extractor.buffered -= buffer.count
        buffer.removeAll(keepingCapacity: !failed)
    }

    private func write(_ bytes: UnsafeRawBufferPointer) {
        guard let fd = extractor.descriptor(for: self) else { failed = true; return }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                extractor.fail(errno); failed = true; return
            }
            done += n
        }
        offset += bytes.count
    }
}
