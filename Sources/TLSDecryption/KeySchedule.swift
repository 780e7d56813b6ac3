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

    /// TLS 1.0–1.2: the client's and the server's record keys from the master secret, cut
    /// from the PRF's key block in the order of RFC 5246 §6.3: MAC keys (CBC suites only),
    /// keys, IVs. GCM's IV is the 4-byte salt of a nonce whose other 8 bytes each record
    /// carries, ChaCha20's the whole 12-byte nonce mask (RFC 7905); CBC has an IV here only in
    /// TLS 1.0, whose records chain from it.
    static func recordKeys(master: [UInt8], clientRandom: [UInt8], serverRandom: [UInt8], suite: CipherSuite,
                           version: UInt16 = 0x0303, encryptThenMAC: Bool = false) -> (client: RecordKey, server: RecordKey) {
        let explicit = suite.cipher == .aes128GCM || suite.cipher == .aes256GCM
        let ivLength = suite.isCBC ? (version == 0x0301 ? 16 : 0) : explicit ? 4 : 12
        let length = 2 * suite.macLength + 2 * suite.keyLength + 2 * ivLength
        let block = version == 0x0303
            ? prf(master, "key expansion", serverRandom + clientRandom, length: length, hash: suite.hash)
            : legacyPRF(master, "key expansion", serverRandom + clientRandom, length: length)
        var i = 0
        func take(_ n: Int) -> [UInt8] { defer { i += n }; return Array(block[i..<i + n]) }
        let clientMAC = take(suite.macLength), serverMAC = take(suite.macLength)
        let clientKey = take(suite.keyLength), serverKey = take(suite.keyLength)
        let clientIV = take(ivLength), serverIV = take(ivLength)
        func key(_ key: [UInt8], _ iv: [UInt8], _ mac: [UInt8]) -> RecordKey {
            var k = RecordKey(suite: suite, key: key, iv: iv, explicitNonce: explicit, secret: nil)
            if suite.isCBC {
                k.macKey = mac
                k.encryptThenMAC = encryptThenMAC
                if version == 0x0301 { k.chainIV = iv }
            }
            return k
        }
        return (key(clientKey, clientIV, clientMAC), key(serverKey, serverIV, serverMAC))
    }

    /// P_hash of RFC 5246 §5 over `label + seed`.
    static func prf(_ secret: [UInt8], _ label: String, _ seed: [UInt8], length: Int, hash: CipherSuite.Hash) -> [UInt8] {
        let key = SymmetricKey(data: secret)
        return switch hash {
        case .sha256: pHash(HMAC<SHA256>.self, key, Array(label.utf8) + seed, length: length)
        case .sha384: pHash(HMAC<SHA384>.self, key, Array(label.utf8) + seed, length: length)
        }
    }

    /// TLS 1.0 and 1.1's PRF (RFC 2246 §5): P_MD5 over the secret's first half XORed with P_SHA1
    /// over its second (the halves share the middle byte of an odd length).
    static func legacyPRF(_ secret: [UInt8], _ label: String, _ seed: [UInt8], length: Int) -> [UInt8] {
        let half = (secret.count + 1) / 2
        let labelled = Array(label.utf8) + seed
        let md5 = pHash(HMAC<Insecure.MD5>.self, SymmetricKey(data: secret.prefix(half)), labelled, length: length)
        let sha1 = pHash(HMAC<Insecure.SHA1>.self, SymmetricKey(data: secret.suffix(half)), labelled, length: length)
        return zip(md5, sha1).map { $0 ^ $1 }
    }

    private static func pHash<H: HashFunction>(_: HMAC<H>.Type, _ key: SymmetricKey, _ seed: [UInt8], length: Int) -> [UInt8] {
        func mac(_ data: [UInt8]) -> [UInt8] { Array(HMAC<H>.authenticationCode(for: data, using: key)) }
        var out: [UInt8] = []
        var a = mac(seed)
        while out.count < length {
            out += mac(a + seed)
            a = mac(a)
        }
        return Array(out.prefix(length))
    }
}
