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

    public init(text: String) {
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.isEmpty || fields[0].hasPrefix("#") { continue }
            guard fields.count == 3, let random = Self.hex(fields[1]), random.count == 32,
                  let secret = Self.hex(fields[2]), !secret.isEmpty else {
                unreadableLines += 1
                continue
            }
            var s = byRandom[random] ?? Secrets()
            switch fields[0] {
            case "CLIENT_RANDOM": s.master = secret
            case "CLIENT_HANDSHAKE_TRAFFIC_SECRET": s.clientHandshake = secret
            case "SERVER_HANDSHAKE_TRAFFIC_SECRET": s.serverHandshake = secret
            case "CLIENT_TRAFFIC_SECRET_0": s.clientTraffic = secret
            case "SERVER_TRAFFIC_SECRET_0": s.serverTraffic = secret
            default: continue  // exporter and early-data secrets decrypt nothing FTP sends
            }
            byRandom[random] = s
        }
    }

    public func secrets(clientRandom: [UInt8]) -> Secrets? { byRandom[clientRandom] }

    private static func hex(_ text: Substring) -> [UInt8]? {
        guard text.utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count / 2)
        var high: UInt8?
        for c in text.utf8 {
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
