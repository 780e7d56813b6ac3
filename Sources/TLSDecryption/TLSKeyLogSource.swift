import Foundation

/// A key log as analyzers share it: a file read again when a connection's secrets are not in
/// what was read before and the file has changed since (a client of a live capture writes its
/// secrets as it makes each connection, after ftpscope started), or a log held in memory.
/// Shared by every analyzer thread, so reads and reloads are locked.
public final class TLSKeyLogSource: @unchecked Sendable {
    private let path: String?
    private let lock = NSLock()
    private var log: TLSKeyLog
    /// The file as it was when last read, and where its last whole line read ends: a client
    /// appends, so only what it appended since is read again.
    private var stamp: Stamp?
    private var wholeLines: Int64 = 0
    private var lastCheck: UInt64 = 0

    private struct Stamp: Equatable {
        var device: UInt64, inode: UInt64, size: Int64, modified: Int64
    }

    public init(_ log: TLSKeyLog) {
        path = nil
        self.log = log
    }

    /// Reads `path`; the error says why it cannot be read.
    public init(path: String) throws(TLSKeyLogError) {
        self.path = path
        log = TLSKeyLog()
        stamp = Self.stamp(path)
        wholeLines = try Self.read(path, from: 0, into: &log, lastLineToo: true) ?? 0
    }

    public var connections: Int { lock.withLock { log.connections } }
    public var unreadableLines: Int { lock.withLock { log.unreadableLines } }

    /// A connection's secrets; when they are missing, what was appended to the file since it
    /// was read is read (looked at no more than every 50 ms, whatever the number of
    /// connections asking). A file that shrank or was replaced is read again whole.
    public func secrets(clientRandom: [UInt8]) -> TLSKeyLog.Secrets? {
        lock.withLock {
            if let found = log.secrets(clientRandom: clientRandom) { return found }
            guard let path else { return nil }
            let now = DispatchTime.now().uptimeNanoseconds
            guard now &- lastCheck >= 50_000_000 else { return nil }
            lastCheck = now
            // Taken before reading: a line written meanwhile is seen as a change next time.
            guard let current = Self.stamp(path), current != stamp else { return nil }
            let appended = stamp.map { $0.device == current.device && $0.inode == current.inode && current.size >= wholeLines }
            do {
                if appended == true, let end = try Self.read(path, from: wholeLines, into: &log, lastLineToo: false) {
                    wholeLines = end
                } else {
                    // Another file, one cut short, or one written over in place (no longer ending
                    // a line where the last reading ended): read again whole, the secrets read
                    // before kept until that succeeds.
                    var fresh = TLSKeyLog()
                    let end = try Self.read(path, from: 0, into: &fresh, lastLineToo: false) ?? 0
                    log = fresh
                    wholeLines = end
                }
            } catch {
                return nil
            }
            stamp = current
            return log.secrets(clientRandom: clientRandom)
        }
    }

    private static func stamp(_ path: String) -> Stamp? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Stamp(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                     modified: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
    }

    /// Reads the file from `offset` (the end of a line read before) into `log` and says where
    /// its last whole line ends; nil when the byte before `offset` no longer ends a line. The
    /// line after the last whole one, which a client may still be writing, is read only when
    /// `lastLineToo` (the first reading, of what was written before ftpscope started); it is
    /// read again, whole, with what is appended next.
    private static func read(_ path: String, from offset: Int64, into log: inout TLSKeyLog,
                             lastLineToo: Bool) throws(TLSKeyLogError) -> Int64? {
        guard let file = fopen(path, "rb") else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { fclose(file) }
        if offset > 0 {
            if fseeko(file, off_t(offset - 1), SEEK_SET) != 0 {
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            guard fgetc(file) == 0x0A else { return nil }
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n == 0 { break }
            bytes += chunk.prefix(n)
        }
        if ferror(file) != 0 { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        let whole = bytes.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        bytes.withUnsafeBytes { log.read(UnsafeRawBufferPointer(rebasing: $0[..<(lastLineToo ? $0.count : whole)])) }
        return offset + Int64(whole)
    }
}

public enum TLSKeyLogError: Error, Equatable {
    case unreadable(path: String, reason: String)
}
