import Crypto
import Foundation
@testable import TLSDecryption
import _CryptoExtras
import Testing

/// Records sealed here with swift-crypto as a TLS peer seals them, read back by the decryptor:
/// the key schedule, the nonce and additional data of each version, the trial that finds when
/// TLS 1.3 changes keys (handshake → application → KeyUpdate), and input that is not TLS.
@Suite struct DecryptorTests {
    static let clientRandom = [UInt8](repeating: 0x11, count: 32)
    static let serverRandom = [UInt8](repeating: 0x22, count: 32)

    static func record(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
        [type, 3, 3, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    static func hello(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
        record(22, [type, 0, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body)
    }

    static var clientHello: [UInt8] { hello(1, [3, 3] + clientRandom + [0, 0, 2, 0x13, 0x01, 1, 0]) }

    static func serverHello(suite: UInt16, tls13: Bool) -> [UInt8] {
        let versions: [UInt8] = tls13 ? [0, 6, 0x00, 0x2B, 0, 2, 3, 4] : [0, 0]
        return hello(2, [3, 3] + serverRandom + [0, UInt8(suite >> 8), UInt8(suite & 0xFF), 0] + versions)
    }

    /// A TLS 1.3 record: content, its type, sealed under `key` at `sequence`.
    static func sealed13(_ content: [UInt8], type: UInt8, _ key: RecordKey, sequence: UInt64, padding: Int = 0) throws -> [UInt8] {
        var nonce = key.iv
        for k in 0..<8 { nonce[4 + k] ^= UInt8(truncatingIfNeeded: sequence >> (56 - 8 * k)) }
        let plain = content + [type] + [UInt8](repeating: 0, count: padding)
        let header: [UInt8] = [23, 3, 3, UInt8((plain.count + 16) >> 8), UInt8((plain.count + 16) & 0xFF)]
        switch key.suite.cipher {
        case .chacha20Poly1305:
            let box = try ChaChaPoly.seal(plain, using: SymmetricKey(data: key.key), nonce: ChaChaPoly.Nonce(data: nonce), authenticating: header)
            return header + Array(box.ciphertext) + Array(box.tag)
        default:
            let box = try AES.GCM.seal(plain, using: SymmetricKey(data: key.key), nonce: AES.GCM.Nonce(data: nonce), authenticating: header)
            return header + Array(box.ciphertext) + Array(box.tag)
        }
    }

    static func secrets(_ n: UInt8) -> [UInt8] { [UInt8](repeating: n, count: 48) }

    static func keyLog13(handshake: Bool = true) -> TLSKeyLog {
        let hex = { (b: [UInt8]) in b.map { String(format: "%02x", $0) }.joined() }
        var lines = ["CLIENT_TRAFFIC_SECRET_0 \(hex(clientRandom)) \(hex(secrets(3)))",
                     "SERVER_TRAFFIC_SECRET_0 \(hex(clientRandom)) \(hex(secrets(4)))"]
        if handshake {
            lines += ["CLIENT_HANDSHAKE_TRAFFIC_SECRET \(hex(clientRandom)) \(hex(secrets(1)))",
                      "SERVER_HANDSHAKE_TRAFFIC_SECRET \(hex(clientRandom)) \(hex(secrets(2)))"]
        }
        return TLSKeyLog(text: lines.joined(separator: "\n"))
    }

    static func feed(_ d: inout TLSDecryptor, _ bytes: [UInt8], fromClient: Bool, split: Int = .max) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let piece = Array(bytes[i..<min(bytes.count, i + split)])
            piece.withUnsafeBytes { d.feed($0, fromClient: fromClient) { out += $0 } }
            i += piece.count
        }
        return out
    }

    @Test(arguments: [(UInt16(0x1301), 32), (0x1302, 48), (0x1303, 32)])
    func tls13HandshakeThenApplicationThenKeyUpdate(_ suiteID: UInt16, _ hashLength: Int) throws {
        let suite = try #require(CipherSuite(id: suiteID))
        let secret = Array(Self.secrets(4).prefix(hashLength))
        // The key log's secrets are as long as the suite's hash.
        let hex = { (b: [UInt8]) in b.map { String(format: "%02x", $0) }.joined() }
        let r = hex(Self.clientRandom)
        let log = TLSKeyLog(text: """
        CLIENT_HANDSHAKE_TRAFFIC_SECRET \(r) \(hex(Array(Self.secrets(1).prefix(hashLength))))
        SERVER_HANDSHAKE_TRAFFIC_SECRET \(r) \(hex(Array(Self.secrets(2).prefix(hashLength))))
        CLIENT_TRAFFIC_SECRET_0 \(r) \(hex(Array(Self.secrets(3).prefix(hashLength))))
        SERVER_TRAFFIC_SECRET_0 \(r) \(hex(secret))
        """)
        var d = TLSDecryptor(keyLog: TLSKeyLogSource(log))
        #expect(Self.feed(&d, Self.clientHello, fromClient: true).isEmpty)
        #expect(Self.feed(&d, Self.serverHello(suite: suiteID, tls13: true), fromClient: false).isEmpty)
        #expect(d.status == .decrypting)
        let handshakeKey = KeySchedule.trafficKey(secret: Array(Self.secrets(2).prefix(hashLength)), suite: suite)
        let appKey = KeySchedule.trafficKey(secret: secret, suite: suite)
        let nextKey = KeySchedule.trafficKey(secret: KeySchedule.nextSecret(secret, suite: suite), suite: suite)
        var server: [UInt8] = Self.record(20, [1])  // a middlebox-compatibility ChangeCipherSpec
        server += try Self.sealed13([8, 0, 0, 2, 0, 0], type: 22, handshakeKey, sequence: 0)
        server += try Self.sealed13([20, 0, 0, 0], type: 22, handshakeKey, sequence: 1)
        server += try Self.sealed13(Array("220 Ready.\r\n".utf8), type: 23, appKey, sequence: 0)
        server += try Self.sealed13([4, 0, 0, 0], type: 22, appKey, sequence: 1)  // a NewSessionTicket
        server += try Self.sealed13(Array("230 In.\r\n".utf8), type: 23, appKey, sequence: 2, padding: 5)
        server += try Self.sealed13(Array("221 Bye.\r\n".utf8), type: 23, nextKey, sequence: 0)
        // Records split across segments anywhere, headers included.
        let plain = Self.feed(&d, server, fromClient: false, split: 7)
        #expect(String(decoding: plain, as: UTF8.self) == "220 Ready.\r\n230 In.\r\n221 Bye.\r\n")
        #expect(d.decryptedRecords == 6 && d.undecryptedRecords == 0 && d.outcome == "decrypted")
    }

    /// TLS 1.2 AEAD: keys from the master secret through the PRF; GCM records carry the last 8
    /// bytes of their nonce and authenticate sequence, type, version and plaintext length.
    @Test(arguments: [UInt16(0xC02F), 0xC030, 0xCCA8])
    func tls12RecordsAfterChangeCipherSpec(_ suiteID: UInt16) throws {
        let suite = try #require(CipherSuite(id: suiteID))
        let master = [UInt8](repeating: 0x5A, count: 48)
        let hex = { (b: [UInt8]) in b.map { String(format: "%02x", $0) }.joined() }
        var d = TLSDecryptor(keyLog: TLSKeyLogSource(TLSKeyLog(text: "CLIENT_RANDOM \(hex(Self.clientRandom)) \(hex(master))")))
        _ = Self.feed(&d, Self.clientHello, fromClient: true)
        _ = Self.feed(&d, Self.serverHello(suite: suiteID, tls13: false) + Self.hello(11, [0, 0, 0]), fromClient: false)
        #expect(d.status == .decrypting)
        let (_, serverKey) = KeySchedule.recordKeys(master: master, clientRandom: Self.clientRandom,
                                                   serverRandom: Self.serverRandom, suite: suite)
        func seal(_ type: UInt8, _ content: [UInt8], sequence: UInt64) throws -> [UInt8] {
            let seq = (0..<8).map { UInt8(truncatingIfNeeded: sequence >> (56 - 8 * $0)) }
            let aad = seq + [type, 3, 3, UInt8(content.count >> 8), UInt8(content.count & 0xFF)]
            if suite.cipher == .chacha20Poly1305 {
                var nonce = serverKey.iv
                for k in 0..<8 { nonce[4 + k] ^= seq[k] }
                let box = try ChaChaPoly.seal(content, using: SymmetricKey(data: serverKey.key), nonce: ChaChaPoly.Nonce(data: nonce), authenticating: aad)
                return Self.record(type, Array(box.ciphertext) + Array(box.tag))
            }
            let explicit = (0..<8).map { UInt8($0 * 3 + 1) }
            let box = try AES.GCM.seal(content, using: SymmetricKey(data: serverKey.key),
                                       nonce: AES.GCM.Nonce(data: serverKey.iv + explicit), authenticating: aad)
            return Self.record(type, explicit + Array(box.ciphertext) + Array(box.tag))
        }
        var server = Self.record(20, [1])
        server += try seal(22, [20, 0, 0, 12] + [UInt8](repeating: 9, count: 12), sequence: 0)  // Finished
        server += try seal(23, Array("220 Ready.\r\n".utf8), sequence: 1)
        server += try seal(23, Array("226 Done.\r\n".utf8), sequence: 2)
        server += try seal(23, Array("999 forged\r\n".utf8), sequence: 2)  // replayed number: fails
        let plain = Self.feed(&d, server, fromClient: false, split: 5)
        #expect(String(decoding: plain, as: UTF8.self) == "220 Ready.\r\n226 Done.\r\n")
        #expect(d.decryptedRecords == 3 && d.undecryptedRecords == 1 && d.outcome == "decrypted in part")
    }

    /// A live capture: the client writes its secrets while the handshake goes by, so the
    /// ServerHello finds none. The file is read again (it changed) at the next protected
    /// record, and the application's records are opened from there, numbered after those that
    /// went by unopened.
    @Test func secretsWrittenAfterTheHandshakeAreFoundInTheFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("late-\(UInt64.random(in: 0...UInt64.max)).keys").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let source = try TLSKeyLogSource(path: path)
        var d = TLSDecryptor(keyLog: source)
        _ = Self.feed(&d, Self.clientHello, fromClient: true)
        _ = Self.feed(&d, Self.serverHello(suite: 0x1301, tls13: true), fromClient: false)
        #expect(d.status == .noSecrets)
        let suite = try #require(CipherSuite(id: 0x1301))
        let appKey = KeySchedule.trafficKey(secret: Array(Self.secrets(4).prefix(32)), suite: suite)
        let handshakeKey = KeySchedule.trafficKey(secret: Array(Self.secrets(2).prefix(32)), suite: suite)
        var early = try Self.sealed13([20, 0, 0, 0], type: 22, handshakeKey, sequence: 0)
        early += try Self.sealed13(Array("220 Ready.\r\n".utf8), type: 23, appKey, sequence: 0)
        #expect(Self.feed(&d, early, fromClient: false).isEmpty)
        let hex = { (b: [UInt8]) in b.map { String(format: "%02x", $0) }.joined() }
        let r = hex(Self.clientRandom)
        try """
        CLIENT_HANDSHAKE_TRAFFIC_SECRET \(r) \(hex(Array(Self.secrets(1).prefix(32))))
        SERVER_HANDSHAKE_TRAFFIC_SECRET \(r) \(hex(Array(Self.secrets(2).prefix(32))))
        CLIENT_TRAFFIC_SECRET_0 \(r) \(hex(Array(Self.secrets(3).prefix(32))))
        SERVER_TRAFFIC_SECRET_0 \(r) \(hex(Array(Self.secrets(4).prefix(32))))
        SERVER_TRAFFIC_SECRET_0 \(hex([UInt8](repeating: 7, count: 32))) 01
        """.write(toFile: path, atomically: false, encoding: .utf8)  // the last line still being written
        Thread.sleep(forTimeInterval: 0.06)
        let late = try Self.sealed13(Array("230 In.\r\n".utf8), type: 23, appKey, sequence: 1)
            + Self.sealed13(Array("226 Done.\r\n".utf8), type: 23, appKey, sequence: 2)
        #expect(String(decoding: Self.feed(&d, late, fromClient: false), as: UTF8.self) == "230 In.\r\n226 Done.\r\n")
        #expect(d.status == .decrypting && source.connections == 1)
    }

    @Test func aConnectionTheKeyLogDoesNotKnowIsSaidSo() {
        var d = TLSDecryptor(keyLog: TLSKeyLogSource(TLSKeyLog(text: "CLIENT_RANDOM \(String(repeating: "00", count: 32)) 01")))
        _ = Self.feed(&d, Self.clientHello, fromClient: true)
        _ = Self.feed(&d, Self.serverHello(suite: 0x1301, tls13: true), fromClient: false)
        #expect(d.status == .noSecrets && d.outcome == "no secrets in the key log")
        // 3DES (what vsftpd's documentation once gave as its default) and SSL 3.0 are not opened.
        var des = TLSDecryptor(keyLog: TLSKeyLogSource(TLSKeyLog(text: "CLIENT_RANDOM \(String(repeating: "11", count: 32)) 01")))
        _ = Self.feed(&des, Self.clientHello, fromClient: true)
        _ = Self.feed(&des, Self.serverHello(suite: 0x000A, tls13: false), fromClient: false)
        #expect(des.outcome == "not decryptable: cipher suite 0x000A")
        var ssl3 = TLSDecryptor(keyLog: TLSKeyLogSource(TLSKeyLog(text: "CLIENT_RANDOM \(String(repeating: "11", count: 32)) 01")))
        _ = Self.feed(&ssl3, Self.clientHello, fromClient: true)
        _ = Self.feed(&ssl3, Self.serverHello(suite: 0x002F, version: 0x0300), fromClient: false)
        #expect(ssl3.outcome == "not decryptable: TLS version 0x0300")
    }

    static func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    static func clientHello(random: [UInt8], sessionID: [UInt8] = [], ticket: [UInt8]? = nil) -> [UInt8] {
        let extensions = ticket.map { [0x00, 0x23, UInt8($0.count >> 8), UInt8($0.count & 0xFF)] + $0 } ?? []
        return hello(1, [3, 3] + random + [UInt8(sessionID.count)] + sessionID + [0, 2, 0xC0, 0x13, 1, 0]
                     + [UInt8(extensions.count >> 8), UInt8(extensions.count & 0xFF)] + extensions)
    }

    /// A TLS 1.0–1.2 ServerHello: its version, session ID, and encrypt-then-MAC's extension.
    static func serverHello(suite: UInt16, version: UInt16, random: [UInt8] = serverRandom, sessionID: [UInt8] = [],
                            encryptThenMAC: Bool = false) -> [UInt8] {
        let extensions: [UInt8] = [0xFF, 0x01, 0, 1, 0] + (encryptThenMAC ? [0x00, 0x16, 0, 0] : [])
        return hello(2, [UInt8(version >> 8), UInt8(version & 0xFF)] + random + [UInt8(sessionID.count)] + sessionID
                     + [UInt8(suite >> 8), UInt8(suite & 0xFF), 0, 0, UInt8(extensions.count)] + extensions)
    }

    /// A CBC record as a TLS 1.0–1.2 peer seals it: MAC over sequence, header and content, then
    /// TLS padding (`extraBlocks` more than needed, as senders may to hide lengths), encrypted;
    /// with encrypt-then-MAC the MAC over the IV and ciphertext instead. TLS 1.1 on sends the
    /// IV; TLS 1.0 chains from the previous record, which `iv` then is.
    static func sealedCBC(_ content: [UInt8], type: UInt8, _ key: RecordKey, sequence: UInt64, version: UInt16,
                          iv: [UInt8], extraBlocks: Int = 0) throws -> [UInt8] {
        let v = [UInt8(version >> 8), UInt8(version & 0xFF)]
        let seq = (0..<8).map { UInt8(truncatingIfNeeded: sequence >> (56 - 8 * $0)) }
        func length(_ n: Int) -> [UInt8] { [UInt8(n >> 8), UInt8(n & 0xFF)] }
        func mac(_ data: [UInt8]) -> [UInt8] {
            let k = SymmetricKey(data: key.macKey)
            return switch key.suite.mac {
            case .sha1: Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: k))
            case .sha256: Array(HMAC<SHA256>.authenticationCode(for: data, using: k))
            case .sha384, nil: Array(HMAC<SHA384>.authenticationCode(for: data, using: k))
            }
        }
        func encrypt(_ plain: [UInt8]) throws -> [UInt8] {
            let n = 15 - plain.count % 16 + 16 * extraBlocks
            let padded = plain + [UInt8](repeating: UInt8(n), count: n + 1)
            let sent = version >= 0x0302 ? iv : []
            return try sent + Array(AES._CBC.encrypt(padded, using: SymmetricKey(data: key.key), iv: .init(ivBytes: iv), noPadding: true))
        }
        let body: [UInt8]
        if key.encryptThenMAC {
            let encrypted = try encrypt(content)
            body = encrypted + mac(seq + [type] + v + length(encrypted.count) + encrypted)
        } else {
            body = try encrypt(content + mac(seq + [type] + v + length(content.count) + content))
        }
        return [type] + v + length(body.count) + body
    }

    /// AES-CBC suites in the three versions that have them, with each MAC and either order of
    /// MAC and encryption: the key block's MAC keys, TLS 1.0/1.1's PRF, TLS 1.0's chained IVs,
    /// padding beyond one block; a record under a replayed sequence number and one with its
    /// last byte flipped are refused, and the records after them still open.
    @Test(arguments: [(UInt16(0xC013), UInt16(0x0303), true), (0xC013, 0x0303, false), (0xC028, 0x0303, false),
                      (0x003C, 0x0303, true), (0xC014, 0x0302, false), (0x0035, 0x0302, true),
                      (0x002F, 0x0301, false), (0xC013, 0x0301, true)])
    func cbcRecords(_ suiteID: UInt16, _ version: UInt16, _ encryptThenMAC: Bool) throws {
        let suite = try #require(CipherSuite(id: suiteID))
        let master = [UInt8](repeating: 0x5A, count: 48)
        var d = TLSDecryptor(keyLog: TLSKeyLogSource(TLSKeyLog(text: "CLIENT_RANDOM \(Self.hex(Self.clientRandom)) \(Self.hex(master))")))
        _ = Self.feed(&d, Self.clientHello, fromClient: true)
        _ = Self.feed(&d, Self.serverHello(suite: suiteID, version: version, encryptThenMAC: encryptThenMAC), fromClient: false)
        #expect(d.status == .decrypting)
        let (_, key) = KeySchedule.recordKeys(master: master, clientRandom: Self.clientRandom, serverRandom: Self.serverRandom,
                                              suite: suite, version: version, encryptThenMAC: encryptThenMAC)
        #expect(key.macKey.count == suite.macLength && key.encryptThenMAC == encryptThenMAC)
        #expect((key.chainIV != nil) == (version == 0x0301))
        var iv = key.chainIV ?? [UInt8](repeating: 0x33, count: 16)
        var server = Self.record(20, [1])
        func seal(_ type: UInt8, _ content: [UInt8], _ sequence: UInt64, extraBlocks: Int = 0, chain: Bool = true) throws -> [UInt8] {
            var r = try Self.sealedCBC(content, type: type, key, sequence: sequence, version: version, iv: iv, extraBlocks: extraBlocks)
            r[1] = UInt8(version >> 8); r[2] = UInt8(version & 0xFF)
            if chain {
                iv = version == 0x0301 ? Array((encryptThenMAC ? r.dropLast(suite.macLength) : r[...]).suffix(16))
                                       : iv.map { $0 &+ 1 }
            }
            return r
        }
        server += try seal(22, [20, 0, 0, 12] + [UInt8](repeating: 9, count: 12), 0)  // Finished
        server += try seal(23, Array("220 Ready.\r\n".utf8), 1)
        server += try seal(23, Array("999 forged\r\n".utf8), 1, chain: false)  // replayed number: fails
        var damaged = try seal(23, Array("998 damaged\r\n".utf8), 2, chain: false)
        damaged[damaged.count - 1] ^= 1
        server += damaged
        server += try seal(23, Array("226 Done, padded.\r\n".utf8), 2, extraBlocks: 3)
        server += try seal(23, Array(repeating: UInt8(ascii: "x"), count: 16) + Array("\r\n".utf8), 3)  // a whole block of content
        let plain = Self.feed(&d, server, fromClient: false, split: 9)
        #expect(String(decoding: plain, as: UTF8.self) == "220 Ready.\r\n226 Done, padded.\r\n" + String(repeating: "x", count: 16) + "\r\n")
        #expect(d.decryptedRecords == 4 && d.undecryptedRecords == 2 && d.outcome == "decrypted in part")
    }

    /// TLS 1.2 resumption, as FTPS data connections resume their control connection's session:
    /// a later connection that offers the session's ID, or the ticket the server issued in
    /// clear before its ChangeCipherSpec, and is answered with its own session ID echoed, uses
    /// the first connection's master secret, which the key log holds only for that one. A
    /// session the key log never saw stays unread, and so does one set up where another
    /// analyzer (another file) keeps its sessions.
    @Test func resumedSessionsUseTheMasterSecretOfTheSessionTheyResume() throws {
        let master = [UInt8](repeating: 0x5A, count: 48), suite = try #require(CipherSuite(id: 0xC013))
        let source = TLSKeyLogSource(TLSKeyLog(text: "CLIENT_RANDOM \(Self.hex(Self.clientRandom)) \(Self.hex(master))"))
        let sessions = TLSSessionCache()
        let sessionID = [UInt8](repeating: 0xAB, count: 32), ticket = [UInt8](repeating: 0x7C, count: 100)
        func connection(random: UInt8, offering id: [UInt8], ticket offered: [UInt8]?, echoed: [UInt8],
                        issuing issued: [UInt8]? = nil, in cache: TLSSessionCache? = nil) throws -> TLSDecryptor {
            var d = TLSDecryptor(keyLog: source, sessions: cache ?? sessions)
            let clientRandom = random == 0x11 ? Self.clientRandom : [UInt8](repeating: random, count: 32)
            let serverRandom = [UInt8](repeating: random &+ 1, count: 32)
            _ = Self.feed(&d, Self.clientHello(random: clientRandom, sessionID: id, ticket: offered), fromClient: true)
            var flight = Self.serverHello(suite: 0xC013, version: 0x0303, random: serverRandom, sessionID: echoed, encryptThenMAC: true)
            if let issued {  // a certificate first: the ticket is found among the messages after the hello
                flight += Self.hello(11, [0, 0, 3, 1, 2, 3]) + Self.hello(4, [0, 0, 0x1C, 0x20, 0, UInt8(issued.count)] + issued)
            }
            _ = Self.feed(&d, flight + Self.record(20, [1]), fromClient: false, split: 11)
            let (_, key) = KeySchedule.recordKeys(master: master, clientRandom: clientRandom, serverRandom: serverRandom,
                                                  suite: suite, version: 0x0303, encryptThenMAC: true)
            let iv = [UInt8](repeating: 0x44, count: 16)
            let records = try Self.sealedCBC([20, 0, 0, 12] + [UInt8](repeating: 9, count: 12), type: 22, key, sequence: 0, version: 0x0303, iv: iv)
                + Self.sealedCBC(Array("150 Here.\r\n".utf8), type: 23, key, sequence: 1, version: 0x0303, iv: iv)
            _ = Self.feed(&d, records, fromClient: false)
            return d
        }
        let first = try connection(random: 0x11, offering: [], ticket: [], echoed: sessionID, issuing: ticket)
        #expect(first.outcome == "decrypted" && first.decryptedRecords == 2)
        let byID = try connection(random: 0x61, offering: sessionID, ticket: nil, echoed: sessionID)
        #expect(byID.outcome == "decrypted" && byID.decryptedRecords == 2)
        let fresh = [UInt8](repeating: 0xEE, count: 32)  // RFC 5077: a new ID beside the ticket, echoed on acceptance
        let byTicket = try connection(random: 0x62, offering: fresh, ticket: ticket, echoed: fresh)
        #expect(byTicket.outcome == "decrypted" && byTicket.decryptedRecords == 2)
        let elsewhere = try connection(random: 0x65, offering: sessionID, ticket: ticket, echoed: sessionID, in: TLSSessionCache())
        #expect(elsewhere.outcome == "no secrets in the key log" && elsewhere.decryptedRecords == 0)
        let unknown = try connection(random: 0x63, offering: [UInt8](repeating: 0x01, count: 32), ticket: nil,
                                     echoed: [UInt8](repeating: 0x01, count: 32))
        #expect(unknown.outcome == "no secrets in the key log" && unknown.decryptedRecords == 0)
        // Not echoed: a full handshake, whose own random the key log does not have.
        let declined = try connection(random: 0x64, offering: sessionID, ticket: nil, echoed: [UInt8](repeating: 0x02, count: 32))
        #expect(declined.outcome == "no secrets in the key log")
    }

    /// Bytes that are not TLS, or hellos cut or claiming lengths beyond any real one: nothing is
    /// delivered, nothing grows without bound, nothing traps.
    @Test func hostileBytesAreRefusedQuietly() {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<300 {
            var d = TLSDecryptor(keyLog: TLSKeyLogSource(Self.keyLog13()))
            var bytes = round % 3 == 0 ? Self.clientHello : []
            bytes += (0..<Int.random(in: 0..<3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if round % 5 == 0 { bytes = [22, 3, 3, 0x40, 0] + [2, 0xFF, 0xFF, 0xFF] + bytes }
            _ = Self.feed(&d, bytes, fromClient: round % 2 == 0, split: 1 + round % 50)
            _ = Self.feed(&d, Array(bytes.reversed()), fromClient: round % 2 == 1, split: 1 + round % 31)
            #expect(d.decryptedRecords == 0)
        }
        var d = TLSDecryptor(keyLog: TLSKeyLogSource(Self.keyLog13()))
        _ = Self.feed(&d, Self.clientHello, fromClient: true)
        _ = Self.feed(&d, [22, 3, 3, 0x40, 0, 2, 0x01, 0, 1] + [UInt8](repeating: 0, count: 0x3FFC), fromClient: false)
        #expect(d.status == .helloMissing && d.outcome == "handshake not seen")
    }

    /// CBC records of every length and content a hostile or damaged stream can hold (shorter
    /// than an IV or a MAC, not whole blocks, padding bytes claiming more than the record), and
    /// server handshakes whose tickets claim any length: refused, never trapping.
    @Test func hostileCBCRecordsAndTicketsAreRefusedQuietly() {
        var rng = SystemRandomNumberGenerator()
        let master = [UInt8](repeating: 0x5A, count: 48)
        let source = TLSKeyLogSource(TLSKeyLog(text: "CLIENT_RANDOM \(Self.hex(Self.clientRandom)) \(Self.hex(master))"))
        let sessions = TLSSessionCache()  // shared: the rounds resume each other's sessions and tickets
        for round in 0..<400 {
            let (suite, version): (UInt16, UInt16) = [(0xC013, 0x0303), (0xC028, 0x0303), (0x002F, 0x0302), (0xC014, 0x0301)][round % 4]
            var d = TLSDecryptor(keyLog: source, sessions: sessions)
            _ = Self.feed(&d, Self.clientHello(random: Self.clientRandom, sessionID: [1, 2], ticket: round % 3 == 0 ? [9] : nil),
                          fromClient: true)
            var flight = Self.serverHello(suite: suite, version: version, sessionID: round % 2 == 0 ? [1, 2] : [3],
                                          encryptThenMAC: round % 5 < 2)
            let claimed = Int.random(in: 0...300, using: &rng)
            flight += Self.hello(4, [0, 0, 0, 1, UInt8(claimed >> 8), UInt8(claimed & 0xFF)]
                                 + (0..<Int.random(in: 0..<200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            flight += Self.record(20, [1])
            for _ in 0..<8 {
                let length = [0, 1, 15, 16, 20, 31, 32, 48, 64, 65, 80, 200][Int.random(in: 0..<12, using: &rng)]
                let body = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                flight += Self.record([22, 23, 21][Int.random(in: 0..<3, using: &rng)], body)
            }
            _ = Self.feed(&d, flight, fromClient: false, split: 1 + round % 40)
            #expect(d.status == .decrypting && d.decryptedRecords == 0 && d.undecryptedRecords == 8)
        }
    }
}
