import Crypto
import Foundation

/// The key derivations of RFC 8446 §7 (TLS 1.3: HKDF-Expand-Label from a traffic secret) and
/// RFC 5246 §5–6.3 (TLS 1.2: the PRF's key block from the master secret).
enum KeySchedule {
    /// TLS 1.3: a record key from a traffic secret.
    static func trafficKey(secret: [UInt8], suite: CipherSuite) -> RecordKey {
        RecordKey(suite: suite, key: expandLabel(secret, "key", length: suite.keyLength, hash: suite.hash),
                  iv: expandLabel(secret, "iv", length: 12, hash: suite.hash), explicitNonce: false, secret: secret)
    }

    /// TLS 1.3 KeyUpdate: the next generation of a traffic secret.
    static func nextSecret(_ secret: [UInt8], suite: CipherSuite) -> [UInt8] {
        expandLabel(secret, "traffic upd", length: suite.hashLength, hash: suite.hash)
    }

    static func expandLabel(_ secret: [UInt8], _ label: String, length: Int, hash: CipherSuite.Hash) -> [UInt8] {
        let full = Array("tls13 \(label)".utf8)
        let info = [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(full.count)] + full + [0]
        let key = SymmetricKey(data: secret)
        let out = switch hash {
        case .sha256: HKDF<SHA256>.expand(pseudoRandomKey: key, info: info, outputByteCount: length)
        case .sha384: HKDF<SHA384>.expand(pseudoRandomKey: key, info: info, outputByteCount: length)
        }
        return out.withUnsafeBytes { Array($0) }
    }

    /// TLS 1.2: the client's and the server's record keys from the master secret. AEAD suites
    /// have no MAC keys; GCM's IV is the 4-byte salt of a nonce whose other 8 bytes each record
    /// carries, ChaCha20's the whole 12-byte nonce mask (RFC 7905).
    static func tls12Keys(master: [UInt8], clientRandom: [UInt8], serverRandom: [UInt8],
                          suite: CipherSuite) -> (client: RecordKey, server: RecordKey) {
        let explicit = suite.cipher != .chacha20Poly1305
        let ivLength = explicit ? 4 : 12
        let block = prf(master, "key expansion", serverRandom + clientRandom,
                        length: 2 * suite.keyLength + 2 * ivLength, hash: suite.hash)
        var i = 0
        func take(_ n: Int) -> [UInt8] { defer { i += n }; return Array(block[i..<i + n]) }
        let clientKey = take(suite.keyLength), serverKey = take(suite.keyLength)
        let clientIV = take(ivLength), serverIV = take(ivLength)
        return (RecordKey(suite: suite, key: clientKey, iv: clientIV, explicitNonce: explicit, secret: nil),
                RecordKey(suite: suite, key: serverKey, iv: serverIV, explicitNonce: explicit, secret: nil))
    }

    /// P_hash of RFC 5246 §5 over `label + seed`.
    static func prf(_ secret: [UInt8], _ label: String, _ seed: [UInt8], length: Int, hash: CipherSuite.Hash) -> [UInt8] {
        let key = SymmetricKey(data: secret)
        let labelled = Array(label.utf8) + seed
        func mac(_ data: [UInt8]) -> [UInt8] {
            switch hash {
            case .sha256: Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
            case .sha384: Array(HMAC<SHA384>.authenticationCode(for: data, using: key))
            }
        }
        var out: [UInt8] = []
        var a = mac(labelled)
        while out.count < length {
            out += mac(a + labelled)
            a = mac(a)
        }
        return Array(out.prefix(length))
    }
}
