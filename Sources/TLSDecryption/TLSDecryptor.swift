/// Reads the application data of one TLS connection whose secrets a key log holds: follows
/// both directions' records, takes the client random from the ClientHello and the version and
/// cipher suite from the ServerHello, and opens each protected record (TLS 1.3; TLS 1.2 with
/// an AEAD suite; TLS 1.0 to 1.2 with an AES-CBC one). Which key a TLS 1.3 record needs (the
/// handshake's, the application's, a KeyUpdate's next) is found by trial: AEAD authentication
/// fails on any other, so the handshake messages that say when keys change need not be read.
public struct TLSDecryptor {
    /// Where a connection stands.
    public enum Status: Sendable, Equatable {
        /// The hellos are not both seen yet.
        case handshaking
        case decrypting
        /// The key log has no secrets for this connection's client random.
        case noSecrets
        /// Negotiated a suite or version that cannot be opened here (3DES, RC4, SSL 3.0).
        case unsupported(String)
        /// The hellos were not seen (a capture that joined after them, a lost segment).
        case helloMissing
    }

    private struct Side: Sendable {
        /// Bytes of records not read yet, from `consumed` on: records are read where they lie
        /// and the buffer is emptied or moved up only when more bytes come.
        var pending: [UInt8] = []
        var consumed = 0
        /// Plaintext handshake bytes, until the hello they hold is read.
        var handshake: [UInt8] = []
        var key: RecordKey?
        /// TLS 1.3: the key to try when the current one fails (the application's after the
        /// handshake's; the next generation after a KeyUpdate).
        var next: RecordKey?
        /// TLS 1.2: records are protected after this side's ChangeCipherSpec.
        var protected = false
        /// Protected records that went by before the key log had the connection's secrets.
        var skipped = 0
        /// Bytes of this side were lost: where its records begin, and their sequence numbers,
        /// are unknown from then on.
        var lost = false
        /// TLS 1.0 CBC: the last ciphertext block of the protected records that went by without
        /// keys, the IV of the first record opened once they come.
        var lastBlock: [UInt8]?

        mutating func take(_ bytes: UnsafeRawBufferPointer) {
            if consumed == pending.count {
                pending.removeAll(keepingCapacity: true)
                consumed = 0
            } else if consumed >= 1 << 16 {
                pending.removeFirst(consumed)
                consumed = 0
            }
            pending.append(contentsOf: bytes)
        }

        mutating func discardPending() {
            pending = []
            consumed = 0
        }

        enum Next { case record(type: UInt8, header: [UInt8], body: ArraySlice<UInt8>), incomplete, notRecords }

        /// The next whole record, its body where it lies in the buffer.
        mutating func nextRecord(maxRecord: Int) -> Next {
            guard pending.count - consumed >= 5 else { return .incomplete }
            let start = consumed
            let length = Int(pending[start + 3]) << 8 | Int(pending[start + 4])
            guard length <= maxRecord else {
                // Not a record boundary any more: nothing after can be followed.
                discardPending()
                return .notRecords
            }
            guard pending.count - start >= 5 + length else { return .incomplete }
            consumed += 5 + length
            return .record(type: pending[start], header: Array(pending[start..<start + 5]),
                           body: pending[(start + 5)..<(start + 5 + length)])
        }
    }

    private let keyLog: TLSKeyLogSource
    private let sessions: TLSSessionCache
    private var client = Side()
    private var server = Side()
    private var clientRandom: [UInt8]?
    /// TLS 1.2 resumption (RFC 5246 §7.3, RFC 5077): the session ID and ticket the ClientHello
    /// offered. A server that echoes the session ID resumes, with the master secret of the
    /// connection that set the session up, which a client need not log again (GnuTLS does not):
    /// what FTPS data connections do, many servers requiring it (vsftpd's `require_ssl_reuse`).
    private var offeredSessionID: [UInt8] = []
    private var offeredTicket: [UInt8] = []
    /// The session this connection resumes, and the ID under which a full handshake set one up
    /// for later connections.
    private var resuming: TLSSessionCache.Resumption?
    private var sessionID: [UInt8] = []
    /// This connection's master secret once known, and a ticket the server issued before it was.
    private var master: [UInt8]?
    private var issuedTicket: [UInt8]?
    private var tls13 = false
    public private(set) var status = Status.handshaking
    /// Records opened, and protected records that could not be.
    public private(set) var decryptedRecords = 0
    public private(set) var undecryptedRecords = 0

    /// What a report says of the connection's decryption.
    public var outcome: String {
        switch status {
        case .handshaking, .helloMissing: "handshake not seen"
        case .decrypting: undecryptedRecords == 0 && !client.lost && !server.lost ? "decrypted" : "decrypted in part"
        case .noSecrets: "no secrets in the key log"
        case .unsupported(let what): "not decryptable: \(what)"
        }
    }

    /// The largest record TLS allows (2^14 plus expansion, RFC 8446 §5.2): a length beyond it
    /// means these are not TLS records.
    private static let maxRecord = (1 << 14) + 256

    /// `sessions`: where TLS 1.2 sessions this connection sets up are kept, and those it
    /// resumes looked up; the analyzer's, shared by its connections (a decryptor alone gets
    /// its own).
    public init(keyLog: TLSKeyLogSource, sessions: TLSSessionCache = TLSSessionCache()) {
        self.keyLog = keyLog
        self.sessions = sessions
    }

    /// What the ServerHello said, kept while the key log has no secrets for the connection:
    /// a client writes them as it computes them, which a live capture may see before it.
    private var negotiated: (serverRandom: [UInt8], suite: CipherSuite, version: UInt16, encryptThenMAC: Bool)?

    /// Bytes of one direction, in order. `plaintext` gets the application data they carried.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, fromClient: Bool,
                              _ plaintext: (UnsafeRawBufferPointer) -> Void) {
        if withSide(fromClient, { $0.lost }) { return }
        withSide(fromClient) { $0.take(bytes) }
        while true {
            switch withSide(fromClient, { $0.nextRecord(maxRecord: Self.maxRecord) }) {
            case .record(let type, let header, let body):
                handle(type, header: header, body: body, fromClient: fromClient, plaintext)
            case .incomplete:
                return
            case .notRecords:
                undecryptedRecords += 1
                return
            }
        }
    }

    /// Bytes of this direction were lost: the record they were in, and the sequence numbers
    /// after it, are unknown. The records after cannot be opened.
    public mutating func gap(fromClient: Bool) {
        self[fromClient].lost = true
        self[fromClient].discardPending()
        if status == .handshaking { status = .helloMissing }
    }

    /// One direction's state, changed in place (no copy of its buffers). Reading it copies the
    /// whole struct, retaining each of its arrays: what every segment or record reads goes
    /// through `withSide` instead. (A `_read` accessor beside `_modify` read freed memory here
    /// under AddressSanitizer: the pipeline fuzzer found it.)
    private subscript(fromClient: Bool) -> Side {
        get { fromClient ? client : server }
        _modify { if fromClient { yield &client } else { yield &server } }
    }

    private mutating func withSide<R>(_ fromClient: Bool, _ body: (inout Side) -> R) -> R {
        fromClient ? body(&client) : body(&server)
    }

    private mutating func handle(_ type: UInt8, header: [UInt8], body: ArraySlice<UInt8>, fromClient: Bool,
                                 _ plaintext: (UnsafeRawBufferPointer) -> Void) {
        let isProtected = tls13 ? (type == 23 && negotiated != nil) : withSide(fromClient, { $0.protected })
        if !isProtected {
            switch type {
            case 22 where status == .handshaking:
                self[fromClient].handshake.append(contentsOf: body)
                readHellos(fromClient: fromClient)
            case 22 where !fromClient && !tls13 && negotiated != nil:
                // TLS 1.2's NewSessionTicket comes in clear, before the server's ChangeCipherSpec.
                server.handshake.append(contentsOf: body)
                readTicket()
            case 20:
                if !tls13 && negotiated != nil { self[fromClient].protected = true }
            case 23:
                undecryptedRecords += 1
            default: break
            }
            return
        }
        if status == .noSecrets, withSide(fromClient, { $0.key == nil }) {
            setUpKeys()
            // TLS 1.2 numbers every protected record: those that went by without keys count
            // (and in TLS 1.0 the last of them gives the next IV).
            if !tls13 {
                withSide(fromClient) { side in
                    guard side.key != nil else { return }
                    side.key!.sequence = UInt64(side.skipped)
                    if side.skipped > 0, side.key!.chainIV != nil { side.key!.chainIV = side.lastBlock }
                }
            }
        }
        guard var key = withSide(fromClient, { $0.key }) else {
            self[fromClient].skipped += 1
            if let (_, suite, version, encryptThenMAC) = negotiated, version == 0x0301 {
                self[fromClient].lastBlock = RecordKey.lastCipherBlock(body, suite: suite, encryptThenMAC: encryptThenMAC)
            }
            undecryptedRecords += 1
            return
        }
        if let opened = key.open(body, header: header, tls13: tls13) {
            self[fromClient].key!.advance(past: body)
            deliver(opened, type: type, plaintext)
            return
        }
        // The next key starts at 0 — or, when its secrets came late (a live capture), after the
        // records that went by without keys.
        if tls13, var next = self[fromClient].next {
            for sequence in 0...UInt64(min(self[fromClient].skipped, 64)) {
                next.sequence = sequence
                guard let opened = next.open(body, header: header, tls13: true) else { continue }
                next.advance(past: body)
                key = next
                self[fromClient].key = next
                self[fromClient].skipped = 0
                self[fromClient].next = next.secret.map {
                    KeySchedule.trafficKey(secret: KeySchedule.nextSecret($0, suite: next.suite), suite: next.suite)
                }
                deliver(opened, type: type, plaintext)
                return
            }
        }
        undecryptedRecords += 1
    }

    /// TLS 1.3 plaintext ends with its real content type and any zero padding (RFC 8446 §5.4);
    /// TLS 1.2's content type is the record's own, application data being all that is passed on.
    private mutating func deliver(_ opened: [UInt8], type: UInt8, _ plaintext: (UnsafeRawBufferPointer) -> Void) {
        decryptedRecords += 1
        var content = opened[...]
        if tls13 {
            while content.last == 0 { content = content.dropLast() }
            guard content.popLast() == 23 else { return }
        } else if type != 23 {
            return
        }
        if !content.isEmpty { content.withUnsafeBytes(plaintext) }
    }

    /// Reads the ClientHello's random and the ServerHello's random, version and suite from the
    /// handshake bytes so far, and sets up the keys once both are known. Only the hellos are
    /// wanted: after the ServerHello (or a hello longer than any real one) nothing is kept.
    private mutating func readHellos(fromClient: Bool) {
        while status == .handshaking {
            let bytes = self[fromClient].handshake
            guard bytes.count >= 4 else { return }
            let length = Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
            guard length <= Self.maxHello else { status = .helloMissing; break }
            guard bytes.count >= 4 + length else { return }
            let message = bytes[4..<4 + length]
            self[fromClient].handshake.removeFirst(4 + length)
            switch (bytes[0], fromClient) {
            case (1, true) where message.count >= 34:
                if clientRandom == nil { clientHello(message) }
            case (2, false) where message.count >= 38:
                serverHello(message)
            default: break
            }
        }
        client.handshake = []
        // What followed the ServerHello in its record may hold a NewSessionTicket.
        if tls13 || negotiated == nil { server.handshake = [] } else { readTicket() }
    }

    private mutating func clientHello(_ m: ArraySlice<UInt8>) {
        let b = Array(m)
        clientRandom = Array(b[2..<34])
        var i = 34
        guard i < b.count, i + 1 + Int(b[i]) <= b.count else { return }
        offeredSessionID = Array(b[(i + 1)..<(i + 1 + Int(b[i]))])
        i += 1 + Int(b[i])
        guard i + 2 <= b.count else { return }
        i += 2 + (Int(b[i]) << 8 | Int(b[i + 1]))  // cipher suites
        guard i < b.count else { return }
        i += 1 + Int(b[i])  // compression methods
        guard i + 2 <= b.count else { return }
        let end = min(b.count, i + 2 + (Int(b[i]) << 8 | Int(b[i + 1])))
        i += 2
        while i + 4 <= end {
            let type = UInt16(b[i]) << 8 | UInt16(b[i + 1]), length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            if type == 0x0023, i + 4 + length <= end { offeredTicket = Array(b[(i + 4)..<(i + 4 + length)]) }
            i += 4 + length
        }
    }

    /// The server's clear handshake messages after its hello (certificates, key exchange), read
    /// one at a time for a NewSessionTicket (RFC 5077 §3.3): lifetime, then the ticket.
    private mutating func readTicket() {
        while server.handshake.count >= 4 {
            let bytes = server.handshake
            let length = Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
            guard length <= Self.maxHello else { server.handshake = []; return }
            guard bytes.count >= 4 + length else { return }
            server.handshake.removeFirst(4 + length)
            guard bytes[0] == 4, length >= 6 else { continue }
            let ticketLength = Int(bytes[8]) << 8 | Int(bytes[9])
            guard ticketLength > 0, 10 + ticketLength <= 4 + length else { continue }
            let ticket = Array(bytes[10..<(10 + ticketLength)])
            if let master { sessions.remember(master: master, resuming: .ticket(ticket)) } else { issuedTicket = ticket }
        }
    }

    /// Hellos are a few hundred bytes; a post-quantum key share makes a ClientHello a few KiB.
    private static let maxHello = 1 << 16

    /// The random of a HelloRetryRequest (RFC 8446 §4.1.3): a ServerHello that asks for another
    /// ClientHello, after which the real one comes.
    private static let helloRetry: [UInt8] = [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ]

    private mutating func serverHello(_ m: ArraySlice<UInt8>) {
        let b = Array(m)
        let serverRandom = Array(b[2..<34])
        if serverRandom == Self.helloRetry { return }
        let sessionIDLength = Int(b[34])
        var i = 35 + sessionIDLength
        guard b.count >= i + 3 else { return }
        let sessionID = Array(b[35..<(35 + sessionIDLength)])
        let suiteID = UInt16(b[i]) << 8 | UInt16(b[i + 1])
        i += 3  // suite, compression
        var version = UInt16(b[0]) << 8 | UInt16(b[1])
        var encryptThenMAC = false
        if b.count >= i + 2 {
            let end = min(b.count, i + 2 + (Int(b[i]) << 8 | Int(b[i + 1])))
            i += 2
            while i + 4 <= end {
                let type = UInt16(b[i]) << 8 | UInt16(b[i + 1]), length = Int(b[i + 2]) << 8 | Int(b[i + 3])
                if type == 0x002B, length == 2, i + 6 <= end { version = UInt16(b[i + 4]) << 8 | UInt16(b[i + 5]) }
                if type == 0x0016 { encryptThenMAC = true }
                i += 4 + length
            }
        }
        guard clientRandom != nil else { status = .helloMissing; return }
        guard let suite = CipherSuite(id: suiteID) else {
            status = .unsupported("cipher suite \(CipherSuite.name(suiteID))")
            return
        }
        // TLS 1.0 and 1.1 had CBC suites only; SSL 3.0 (0x0300) had its own MAC and PRF.
        guard version == 0x0304 || version == 0x0303 || (suite.isCBC && (version == 0x0302 || version == 0x0301)) else {
            status = .unsupported("TLS version \(CipherSuite.name(version))")
            return
        }
        tls13 = version == 0x0304
        if !tls13 {
            if !sessionID.isEmpty && sessionID == offeredSessionID {
                resuming = offeredTicket.isEmpty ? .sessionID(sessionID) : .ticket(offeredTicket)
            } else {
                self.sessionID = sessionID
            }
        }
        // RFC 7366: the extension in a ServerHello agrees to encrypt-then-MAC, for CBC suites.
        negotiated = (serverRandom, suite, version, encryptThenMAC && suite.isCBC)
        setUpKeys()
    }

    /// The record keys from the connection's secrets, once the key log has them.
    private mutating func setUpKeys() {
        guard let clientRandom, let (serverRandom, suite, version, encryptThenMAC) = negotiated else { return }
        status = .noSecrets
        let secrets = keyLog.secrets(clientRandom: clientRandom)
        switch version {
        case 0x0304:
            guard let clientApp = secrets?.clientTraffic, let serverApp = secrets?.serverTraffic else { return }
            func keys(_ handshake: [UInt8]?, _ traffic: [UInt8]) -> (RecordKey, RecordKey?) {
                let app = KeySchedule.trafficKey(secret: traffic, suite: suite)
                guard let handshake else { return (app, KeySchedule.trafficKey(secret: KeySchedule.nextSecret(traffic, suite: suite), suite: suite)) }
                return (KeySchedule.trafficKey(secret: handshake, suite: suite), app)
            }
            (client.key, client.next) = keys(secrets?.clientHandshake, clientApp)
            (server.key, server.next) = keys(secrets?.serverHandshake, serverApp)
            status = .decrypting
        case 0x0301...0x0303:
            guard let master = secrets?.master ?? resuming.flatMap({ sessions.master(resuming: $0) }) else { return }
            (client.key, server.key) = KeySchedule.recordKeys(master: master, clientRandom: clientRandom, serverRandom: serverRandom,
                                                              suite: suite, version: version, encryptThenMAC: encryptThenMAC)
            status = .decrypting
            self.master = master
            if !sessionID.isEmpty { sessions.remember(master: master, resuming: .sessionID(sessionID)) }
            if let issuedTicket { sessions.remember(master: master, resuming: .ticket(issuedTicket)) }
            issuedTicket = nil
        default:
            break
        }
    }
}
