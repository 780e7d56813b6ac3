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

    /// A client random as four words: hashing an array hashed it a byte at a time.
    private struct Random: Hashable {
        var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

        init?(_ bytes: [UInt8]) {
            guard bytes.count == 32 else { return nil }
            (w0, w1, w2, w3) = (0, 0, 0, 0)
            for i in 0..<32 { shift(in: UInt64(bytes[i]), bits: 8, word: i >> 3) }
        }

        /// 64 hex digits.
        init?(hex: UnsafeRawBufferPointer) {
            guard hex.count == 64 else { return nil }
            (w0, w1, w2, w3) = (0, 0, 0, 0)
            for i in 0..<64 {
                guard let v = TLSKeyLog.hexValue(hex[i]) else { return nil }
                shift(in: UInt64(v), bits: 4, word: i >> 4)
            }
        }

        private mutating func shift(in value: UInt64, bits: UInt64, word: Int) {
            switch word {
            case 0: w0 = w0 << bits | value
            case 1: w1 = w1 << bits | value
            case 2: w2 = w2 << bits | value
            default: w3 = w3 << bits | value
            }
        }
    }

    private var byRandom: [Random: Secrets] = [:]
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
        var at = 0
        func field() -> UnsafeRawBufferPointer? {
            while at < line.count, line[at] == 0x20 || line[at] == 0x09 { at += 1 }
            let start = at
            while at < line.count, line[at] != 0x20, line[at] != 0x09 { at += 1 }
            return at > start ? UnsafeRawBufferPointer(rebasing: line[start..<at]) : nil
        }
        guard let label = field() else { return }
        if label[0] == UInt8(ascii: "#") { return }
        guard let randomHex = field(), let secretHex = field(), field() == nil,
              let random = Random(hex: randomHex), let secret = Self.hex(secretHex), !secret.isEmpty else {
            unreadableLines += 1
            return
        }
        func named(_ name: StaticString) -> Bool { name.withUTF8Buffer { label.elementsEqual($0) } }
        let slot: WritableKeyPath<Secrets, [UInt8]?>
        if named("CLIENT_RANDOM") { slot = \.master }
        else if named("CLIENT_HANDSHAKE_TRAFFIC_SECRET") { slot = \.clientHandshake }
        else if named("SERVER_HANDSHAKE_TRAFFIC_SECRET") { slot = \.serverHandshake }
        else if named("CLIENT_TRAFFIC_SECRET_0") { slot = \.clientTraffic }
        else if named("SERVER_TRAFFIC_SECRET_0") { slot = \.serverTraffic }
        else { return }  // exporter and early-data secrets decrypt nothing FTP sends
        byRandom[random, default: Secrets()][keyPath: slot] = secret
    }

    public func secrets(clientRandom: [UInt8]) -> Secrets? { Random(clientRandom).flatMap { byRandom[$0] } }

    private static func hex(_ text: UnsafeRawBufferPointer) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var i = 0
        while i < text.count {
            guard let high = hexValue(text[i]), let low = hexValue(text[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    fileprivate static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }
}
