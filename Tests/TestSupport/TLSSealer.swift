import CLibcrypto
import Crypto

/// One TLS connection's records sealed as its peers seal them, and the key log lines that let
/// ftpscope open them: for synthetic FTPS captures (the benchmark's). Written apart from
/// `TLSDecryption` (its own HKDF-Expand-Label and PRF), so that what is sealed here and what
/// ftpscope opens are two implementations that must agree.
public struct TLSSealer {
    public enum Protection: Sendable {
        /// TLS 1.3, TLS_AES_128_GCM_SHA256: handshake keys for the encrypted handshake, then
        /// the application's.
        case tls13AES128GCM
        /// TLS 1.2, ECDHE-RSA-AES128-SHA with encrypt-then-MAC (what OpenSSL negotiates for it).
        case tls12AES128CBCSHA
    }

    private struct Direction {
        var key: [UInt8], iv: [UInt8], mac: [UInt8]
        var sequence: UInt64 = 0
        /// TLS 1.3's handshake keys, and their own record count.
        var handshake: (key: [UInt8], iv: [UInt8]) = ([], [])
        var handshakeSequence: UInt64 = 0
    }

    public let protection: Protection
    public let clientRandom: [UInt8]
    private let serverRandom: [UInt8]
    /// The connection's lines of an SSLKEYLOGFILE.
    public let keyLogLines: String
    private var client: Direction
    private var server: Direction
    private var ivCounter: UInt64 = 0

    /// `seed` makes the randoms and secrets, distinct per connection.
    public init(_ protection: Protection, seed: Int) {
        self.protection = protection
        func bytes(_ tag: UInt8, _ n: Int) -> [UInt8] {
            (0..<n).map { UInt8(truncatingIfNeeded: (seed &* 2_654_435_761) >> (($0 % 4) * 8)) ^ tag &+ UInt8($0) }
        }
        clientRandom = bytes(0xC1, 32)
        serverRandom = bytes(0x5E, 32)
        let hex = { (b: [UInt8]) in b.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined() }
        let r = hex(clientRandom)
        switch protection {
        case .tls13AES128GCM:
            let secrets = (1...4).map { bytes(UInt8($0) &* 0x11, 32) }
            func traffic(_ s: [UInt8]) -> (key: [UInt8], iv: [UInt8]) {
                (Self.expandLabel(s, "key", 16), Self.expandLabel(s, "iv", 12))
            }
            let (ck, civ) = traffic(secrets[2]), (sk, siv) = traffic(secrets[3])
            client = Direction(key: ck, iv: civ, mac: [], handshake: traffic(secrets[0]))
            server = Direction(key: sk, iv: siv, mac: [], handshake: traffic(secrets[1]))
            keyLogLines = """
            CLIENT_HANDSHAKE_TRAFFIC_SECRET \(r) \(hex(secrets[0]))
            SERVER_HANDSHAKE_TRAFFIC_SECRET \(r) \(hex(secrets[1]))
            CLIENT_TRAFFIC_SECRET_0 \(r) \(hex(secrets[2]))
            SERVER_TRAFFIC_SECRET_0 \(r) \(hex(secrets[3]))

            """
        case .tls12AES128CBCSHA:
            let master = bytes(0x3A, 48)
            let block = Self.prf(master, Array("key expansion".utf8) + serverRandom + clientRandom, length: 2 * 20 + 2 * 16)
            client = Direction(key: Array(block[40..<56]), iv: [], mac: Array(block[0..<20]))
            server = Direction(key: Array(block[56..<72]), iv: [], mac: Array(block[20..<40]))
            keyLogLines = "CLIENT_RANDOM \(r) \(hex(master))\n"
        }
    }

    private static func record(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
        [type, 3, 3, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    private static func handshakeMessage(_ type: UInt8, _ body: [UInt8]) -> [UInt8] {
        [type, 0, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    /// The ClientHello: its random, one suite, no extensions the reader needs.
    public var clientHello: [UInt8] {
        let suite: [UInt8] = protection == .tls13AES128GCM ? [0x13, 0x01] : [0xC0, 0x13]
        return Self.record(22, Self.handshakeMessage(1, [3, 3] + clientRandom + [0, 0, 2] + suite + [1, 0, 0, 0]))
    }

    /// The server's first flight as it appears on the wire: the ServerHello, and either the
    /// encrypted handshake (1.3) or the certificate's stand-in, ChangeCipherSpec and Finished (1.2).
    public mutating func serverFlight() -> [UInt8] {
        switch protection {
        case .tls13AES128GCM:
            let hello = Self.handshakeMessage(2, [3, 3] + serverRandom + [0, 0x13, 0x01, 0, 0, 6, 0x00, 0x2B, 0, 2, 3, 4])
            return Self.record(22, hello) + Self.record(20, [1]) + seal13(Self.handshakeMessage(20, [UInt8](repeating: 7, count: 32)), type: 22, fromClient: false)
        case .tls12AES128CBCSHA:
            let hello = Self.handshakeMessage(2, [3, 3] + serverRandom + [0, 0xC0, 0x13, 0, 0, 4, 0x00, 0x16, 0, 0])
            return Self.record(22, hello + Self.handshakeMessage(11, [0, 0, 3, 0, 0, 0]) + Self.handshakeMessage(14, []))
                + Self.record(20, [1]) + sealCBC(Self.handshakeMessage(20, [UInt8](repeating: 7, count: 12)), type: 22, fromClient: false)
        }
    }

    /// The client's flight after the server's: its Finished (1.2: after ChangeCipherSpec).
    public mutating func clientFinished() -> [UInt8] {
        switch protection {
        case .tls13AES128GCM:
            return Self.record(20, [1]) + seal13(Self.handshakeMessage(20, [UInt8](repeating: 8, count: 32)), type: 22, fromClient: true)
        case .tls12AES128CBCSHA:
            return Self.record(22, Self.handshakeMessage(16, [0, 1, 4])) + Self.record(20, [1])
                + sealCBC(Self.handshakeMessage(20, [UInt8](repeating: 8, count: 12)), type: 22, fromClient: true)
        }
    }

    /// Application data, in records of at most 16 KiB.
    public mutating func seal(_ content: [UInt8], fromClient: Bool) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        repeat {
            let piece = Array(content[i..<min(content.count, i + 16_384)])
            out += protection == .tls13AES128GCM ? seal13(piece, type: 23, fromClient: fromClient) : sealCBC(piece, type: 23, fromClient: fromClient)
            i += 16_384
        } while i < content.count
        return out
    }

    private mutating func seal13(_ content: [UInt8], type: UInt8, fromClient: Bool) -> [UInt8] {
        var d = fromClient ? client : server
        // The handshake's keys and count for handshake messages, the application's for the rest.
        let (key, iv) = type == 22 ? d.handshake : (d.key, d.iv)
        let sequence = type == 22 ? d.handshakeSequence : d.sequence
        var nonce = iv
        for k in 0..<8 { nonce[4 + k] ^= UInt8(truncatingIfNeeded: sequence >> (56 - 8 * k)) }
        let plain = content + [type]
        let header: [UInt8] = [23, 3, 3, UInt8((plain.count + 16) >> 8), UInt8((plain.count + 16) & 0xFF)]
        let box = try! AES.GCM.seal(plain, using: SymmetricKey(data: key), nonce: AES.GCM.Nonce(data: nonce), authenticating: header)
        if type == 22 { d.handshakeSequence += 1 } else { d.sequence += 1 }
        if fromClient { client = d } else { server = d }
        return header + Array(box.ciphertext) + Array(box.tag)
    }

    /// Encrypt-then-MAC (RFC 7366): IV, the content padded the TLS way and encrypted, then
    /// HMAC-SHA1 over sequence, header and all of that.
    private mutating func sealCBC(_ content: [UInt8], type: UInt8, fromClient: Bool) -> [UInt8] {
        var d = fromClient ? client : server
        ivCounter &+= 1
        let iv = (0..<16).map { UInt8(truncatingIfNeeded: ivCounter >> (($0 % 8) * 8)) ^ UInt8($0) }
        let n = 15 - content.count % 16
        let padded = content + [UInt8](repeating: UInt8(n), count: n + 1)
        var encrypted = [UInt8](repeating: 0, count: padded.count)
        let ok = encrypted.withUnsafeMutableBufferPointer { out in
            ftpscope_aes_cbc(1, d.key, 16, iv, padded, Int32(padded.count), out.baseAddress)
        }
        precondition(ok == 1)
        let body = iv + encrypted
        let seq = (0..<8).map { UInt8(truncatingIfNeeded: d.sequence >> (56 - 8 * $0)) }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(
            for: seq + [type, 3, 3, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body, using: SymmetricKey(data: d.mac))
        d.sequence += 1
        if fromClient { client = d } else { server = d }
        return Self.record(type, body + Array(mac))
    }

    private static func expandLabel(_ secret: [UInt8], _ label: String, _ length: Int) -> [UInt8] {
        let full = Array("tls13 \(label)".utf8)
        let info = [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(full.count)] + full + [0]
        return HKDF<SHA256>.expand(pseudoRandomKey: SymmetricKey(data: secret), info: info, outputByteCount: length)
            .withUnsafeBytes { Array($0) }
    }

    private static func prf(_ secret: [UInt8], _ seed: [UInt8], length: Int) -> [UInt8] {
        let key = SymmetricKey(data: secret)
        var out: [UInt8] = [], a = Array(HMAC<SHA256>.authenticationCode(for: seed, using: key))
        while out.count < length {
            out += HMAC<SHA256>.authenticationCode(for: a + seed, using: key)
            a = Array(HMAC<SHA256>.authenticationCode(for: a, using: key))
        }
        return Array(out.prefix(length))
    }
}
