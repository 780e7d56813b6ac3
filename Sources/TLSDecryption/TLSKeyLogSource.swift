import Foundation

/// A key log as analyzers share it: a file read again when a connection's secrets are not in
/// what was read before and the file has changed since (a client of a live capture writes its
/// secrets as it makes each connection, after ftpscope started), or a log held in memory.
/// Shared by every analyzer thread, so reads and reloads are locked.
public final class TLSKeyLogSource: @unchecked Sendable {
    private let path: String?
    private let lock = NSLock()
    private var log: TLSKeyLog
    private var stamp: (size: Int64, modified: Int64)?
    private var lastCheck: UInt64 = 0

    public init(_ log: TLSKeyLog) {
        path = nil
        self.log = log
    }

    /// Reads `path`; the error says why it cannot be read.
    public init(path: String) throws(TLSKeyLogError) {
        self.path = path
        let (log, stamp) = try Self.read(path, completeLinesOnly: false)
        self.log = log
        self.stamp = stamp
    }

    public var connections: Int { lock.withLock { log.connections } }
    public var unreadableLines: Int { lock.withLock { log.unreadableLines } }

    /// A connection's secrets; when they are missing, the file is read again if it changed
    /// (looked at no more than every 50 ms, whatever the number of connections asking).
    public func secrets(clientRandom: [UInt8]) -> TLSKeyLog.Secrets? {
        lock.withLock {
            if let found = log.secrets(clientRandom: clientRandom) { return found }
            guard let path else { return nil }
            let now = DispatchTime.now().uptimeNanoseconds
            guard now &- lastCheck >= 50_000_000 else { return nil }
            lastCheck = now
            guard let current = Self.stamp(path), stamp.map({ $0 != current }) ?? true,
                  let (fresh, freshStamp) = try? Self.read(path, completeLinesOnly: true) else { return nil }
            log = fresh
            stamp = freshStamp
            return log.secrets(clientRandom: clientRandom)
        }
    }

    private static func stamp(_ path: String) -> (size: Int64, modified: Int64)? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return (Int64(st.st_size), Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
    }

    private static func read(_ path: String, completeLinesOnly: Bool) throws(TLSKeyLogError) -> (TLSKeyLog, (size: Int64, modified: Int64)?) {
        let before = stamp(path)
        guard let file = fopen(path, "rb") else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n == 0 { break }
            bytes += chunk.prefix(n)
        }
        if ferror(file) != 0 { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        // Read again while a client writes, a line being written is read whole the next time.
        if completeLinesOnly {
            if let end = bytes.lastIndex(of: 0x0A) { bytes.removeSubrange((end + 1)...) } else { bytes = [] }
        }
        return (bytes.withUnsafeBytes { TLSKeyLog(bytes: $0) }, before)
    }
}

public enum TLSKeyLogError: Error, Equatable {
    case unreadable(path: String, reason: String)
}
