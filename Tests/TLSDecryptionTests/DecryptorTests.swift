import Crypto
import Foundation
@testable import TLSDecryption
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
        let (_, serverKey) = KeySchedule.tls12Keys(master: master, clientRandom: Self.clientRandom,
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
        var cbc = TLSDecryptor(keyLog: TLSKeyLogSource(TLSKeyLog(text: "CLIENT_RANDOM \(String(repeating: "11", count: 32)) 01")))
        _ = Self.feed(&cbc, Self.clientHello, fromClient: true)
        _ = Self.feed(&cbc, Self.serverHello(suite: 0x002F, tls13: false), fromClient: false)
        #expect(cbc.outcome == "not decryptable: cipher suite 0x002F")
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
}
