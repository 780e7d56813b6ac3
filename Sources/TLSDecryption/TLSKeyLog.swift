/// The secrets TLS libraries write for each connection they make when `SSLKEYLOGFILE` is set
/// (the NSS key log format: OpenSSL, GnuTLS, NSS, curl, lftp, browsers), the file Wireshark's
/// `tls.keylog_file` reads: one `LABEL <client random> <secret>` line each, in hex. A
/// connection's secrets are found by the random of its ClientHello.
public struct TLSKeyLog: Sendable {
    /// What one connection's lines gave.
    public struct Secrets: Sendable, Equatable {
        /// `CLIENT_RANDOM`: TLS 1.2 and before.
        public var master: [UInt8]?
        /// TLS 1.3: the handshake's keys, then the first generation of the application's.
        public var clientHandshake: [UInt8]?
        public var serverHandshake: [UInt8]?
        public var clientTraffic: [UInt8]?
        public var serverTraffic: [UInt8]?
        public init() {}
    }

    private var byRandom: [[UInt8]: Secrets] = [:]
    /// Lines that are neither a secret, a comment nor blank (another format, a cut line).
    public private(set) var unreadableLines = 0

    /// Connections the log has secrets for.
    public var connections: Int { byRandom.count }

    public init() {}

    public init(text: String) {
        var text = text
        text.withUTF8 { read(UnsafeRawBufferPointer($0)) }
    }

    public init(bytes: UnsafeRawBufferPointer) {
        read(bytes)
    }

    /// Adds the lines of `bytes` (more of the log: what a client appended since). Read on
    /// bytes, a line at a time: key logs grow to megabytes, and character-by-character
    /// `String` splitting cost more than the analysis of the capture they decrypted.
    public mutating func read(_ bytes: UnsafeRawBufferPointer) {
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != 0x0A, bytes[end] != 0x0D { end += 1 }
            if end > start { add(line: UnsafeRawBufferPointer(rebasing: bytes[start..<end])) }
            start = end + 1
        }
    }

    /// `LABEL <client random> <secret>`, fields apart by spaces or tabs; a comment or a blank
    /// line is skipped, anything else counted as unreadable.
    private mutating func add(line: UnsafeRawBufferPointer) {
        var fields: [Range<Int>] = []
        var i = 0
        while i < line.count, fields.count < 4 {
            while i < line.count, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
            let start = i
            while i < line.count, line[i] != 0x20, line[i] != 0x09 { i += 1 }
            if i > start { fields.append(start..<i) }
        }
        if fields.isEmpty || line[fields[0].lowerBound] == UInt8(ascii: "#") { return }
        guard fields.count == 3, let random = Self.hex(UnsafeRawBufferPointer(rebasing: line[fields[1]])),
              random.count == 32, let secret = Self.hex(UnsafeRawBufferPointer(rebasing: line[fields[2]])),
              !secret.isEmpty else {
            unreadableLines += 1
            return
        }
        let label = UnsafeRawBufferPointer(rebasing: line[fields[0]])
        func named(_ name: StaticString) -> Bool { name.withUTF8Buffer { label.elementsEqual($0) } }
        var s = byRandom[random] ?? Secrets()
        if named("CLIENT_RANDOM") { s.master = secret }
        else if named("CLIENT_HANDSHAKE_TRAFFIC_SECRET") { s.clientHandshake = secret }
        else if named("SERVER_HANDSHAKE_TRAFFIC_SECRET") { s.serverHandshake = secret }
        else if named("CLIENT_TRAFFIC_SECRET_0") { s.clientTraffic = secret }
        else if named("SERVER_TRAFFIC_SECRET_0") { s.serverTraffic = secret }
        else { return }  // exporter and early-data secrets decrypt nothing FTP sends
        byRandom[random] = s
    }

    public func secrets(clientRandom: [UInt8]) -> Secrets? { byRandom[clientRandom] }

    private static func hex(_ text: UnsafeRawBufferPointer) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var high: UInt8?
        for c in text {
            let v: UInt8
            switch c {
            case 0x30...0x39: v = c - 0x30
            case 0x41...0x46: v = c - 0x41 + 10
            case 0x61...0x66: v = c - 0x61 + 10
            default: return nil
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }
}
