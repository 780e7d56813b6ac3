import Crypto
import Foundation

/// One direction's record protection: the AEAD key, its IV and the record sequence number.
struct RecordKey: Sendable {
    let suite: CipherSuite
    let key: [UInt8]
    let iv: [UInt8]
    /// TLS 1.2 GCM: the record starts with the nonce's last 8 bytes.
    let explicitNonce: Bool
    /// TLS 1.3: the traffic secret the key came from, for KeyUpdate's next one.
    let secret: [UInt8]?
    var sequence: UInt64 = 0

    init(suite: CipherSuite, key: [UInt8], iv: [UInt8], explicitNonce: Bool, secret: [UInt8]?) {
        self.suite = suite; self.key = key; self.iv = iv; self.explicitNonce = explicitNonce; self.secret = secret
    }

    /// Opens one record's body; nil when it does not authenticate (another key, damage).
    /// `header` is the record's 5 bytes. TLS 1.3 authenticates the header as sent; TLS 1.2
    /// the sequence number, type, version and the plaintext's length (RFC 5246 §6.2.3.3).
    func open(_ body: ArraySlice<UInt8>, header: [UInt8], tls13: Bool) -> [UInt8]? {
        let tag = 16
        var nonce: [UInt8]
        var ciphertext = body
        if explicitNonce {
            guard body.count >= 8 + tag else { return nil }
            nonce = iv + body.prefix(8)
            ciphertext = body.dropFirst(8)
        } else {
            guard body.count >= tag else { return nil }
            nonce = iv
            for k in 0..<8 { nonce[4 + k] ^= UInt8(truncatingIfNeeded: sequence >> (56 - 8 * k)) }
        }
        let sealed = ciphertext.dropLast(tag), authTag = ciphertext.suffix(tag)
        let aad: [UInt8]
        if tls13 {
            aad = header
        } else {
            let n = sealed.count
            aad = (0..<8).map { UInt8(truncatingIfNeeded: sequence >> (56 - 8 * $0)) }
                + [header[0], header[1], header[2], UInt8(n >> 8), UInt8(n & 0xFF)]
        }
        let symmetric = SymmetricKey(data: key)
        let plain: Data?
        switch suite.cipher {
        case .aes128GCM, .aes256GCM:
            plain = (try? AES.GCM.Nonce(data: nonce)).flatMap { n in
                (try? AES.GCM.SealedBox(nonce: n, ciphertext: sealed, tag: authTag)).flatMap {
                    try? AES.GCM.open($0, using: symmetric, authenticating: aad)
                }
            }
        case .chacha20Poly1305:
            plain = (try? ChaChaPoly.Nonce(data: nonce)).flatMap { n in
                (try? ChaChaPoly.SealedBox(nonce: n, ciphertext: sealed, tag: authTag)).flatMap {
                    try? ChaChaPoly.open($0, using: symmetric, authenticating: aad)
                }
            }
        }
        return plain.map { Array($0) }
    }
}
