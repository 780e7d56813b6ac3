import CLibcrypto
import Crypto

/// One direction's record protection: the key, its IV or MAC key, and the record sequence number.
struct RecordKey: Sendable {
    let suite: CipherSuite
    let key: [UInt8]
    let iv: [UInt8]
    /// TLS 1.2 GCM: the record starts with the nonce's last 8 bytes.
    let explicitNonce: Bool
    /// TLS 1.3: the traffic secret the key came from, for KeyUpdate's next one.
    let secret: [UInt8]?
    /// CBC suites: the HMAC key, and whether the MAC is over the ciphertext and follows it
    /// (encrypt-then-MAC, RFC 7366, which OpenSSL and GnuTLS negotiate) or is encrypted with
    /// the content (RFC 5246 §6.2.3.2).
    var macKey: [UInt8] = []
    var encryptThenMAC = false
    var sequence: UInt64 = 0
    /// TLS 1.0 CBC: a record's IV is the last ciphertext block before it (the key block's IV
    /// for the first, RFC 2246 §6.2.3.2); nil where each record carries its own (TLS 1.1 on).
    var chainIV: [UInt8]?

    init(suite: CipherSuite, key: [UInt8], iv: [UInt8], explicitNonce: Bool, secret: [UInt8]?) {
        self.suite = suite; self.key = key; self.iv = iv; self.explicitNonce = explicitNonce; self.secret = secret
    }

    /// Opens one record's body; nil when it does not authenticate (another key, damage).
    /// `header` is the record's 5 bytes. TLS 1.3 authenticates the header as sent; TLS 1.2
    /// the sequence number, type, version and the plaintext's length (RFC 5246 §6.2.3.3).
    func open(_ body: ArraySlice<UInt8>, header: [UInt8], tls13: Bool) -> [UInt8]? {
        if suite.isCBC { return openCBC(body, header: header) }
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
        let aad = tls13 ? header : additionalData(header, length: sealed.count)
        let chacha: Int32 = suite.cipher == .chacha20Poly1305 ? 1 : 0
        return Self.filled(count: sealed.count) { out in
            sealed.withUnsafeBufferPointer { input in
                authTag.withUnsafeBufferPointer { tagBytes in
                    ftpscope_aead_open(chacha, key, Int32(key.count), nonce, aad, Int32(aad.count), input.baseAddress,
                                       Int32(input.count), tagBytes.baseAddress, out) == 1
                }
            }
        }
    }

    /// `count` bytes a C function writes (with room for at least one, so that the pointer is
    /// never null), or nil when it says it failed; not zeroed first.
    private static func filled(count: Int, _ write: (UnsafeMutablePointer<UInt8>) -> Bool) -> [UInt8]? {
        var ok = false
        let bytes = [UInt8](unsafeUninitializedCapacity: max(1, count)) { buffer, initialized in
            ok = write(buffer.baseAddress!)
            initialized = ok ? count : 0
        }
        return ok ? bytes : nil
    }

    /// After a record this key opened: the next one's sequence number, and in TLS 1.0 its IV.
    mutating func advance(past body: ArraySlice<UInt8>) {
        sequence += 1
        if chainIV != nil { chainIV = Self.lastCipherBlock(body, suite: suite, encryptThenMAC: encryptThenMAC) }
    }

    /// TLS 1.0: the block a record leaves as the next one's IV, whether or not it was opened.
    static func lastCipherBlock(_ body: ArraySlice<UInt8>, suite: CipherSuite, encryptThenMAC: Bool) -> [UInt8]? {
        let ciphertext = encryptThenMAC ? body.dropLast(suite.macLength) : body
        return ciphertext.count >= 16 ? Array(ciphertext.suffix(16)) : nil
    }

    /// Sequence number, type, version and length: what TLS 1.2 AEAD and every CBC MAC
    /// authenticate beside the content (RFC 5246 §6.2.3.1).
    private func additionalData(_ header: [UInt8], length: Int) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: sequence >> (56 - 8 * $0)) }
            + [header[0], header[1], header[2], UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)]
    }

    /// A CBC record: IV (TLS 1.1 on), then the content, its MAC and padding encrypted — or, with
    /// encrypt-then-MAC, the MAC after the ciphertext, over it. Every check a sender's record
    /// passes is made (block alignment, padding bytes, MAC), so a record under another key or
    /// a damaged one is refused rather than passed on as garbage.
    private func openCBC(_ body: ArraySlice<UInt8>, header: [UInt8]) -> [UInt8]? {
        let block = 16, macLength = suite.macLength
        var ciphertext = body
        if encryptThenMAC {
            guard ciphertext.count >= macLength else { return nil }
            let tag = ciphertext.suffix(macLength)
            ciphertext = ciphertext.dropLast(macLength)
            guard authenticates(tag, header: header, content: ciphertext) else { return nil }
        }
        let iv: [UInt8]
        if let chainIV {
            iv = chainIV
        } else {
            guard ciphertext.count >= block else { return nil }
            iv = Array(ciphertext.prefix(block))
            ciphertext = ciphertext.dropFirst(block)
        }
        guard !ciphertext.isEmpty, ciphertext.count % block == 0 else { return nil }
        guard var plain = Self.filled(count: ciphertext.count, { out in
            ciphertext.withUnsafeBufferPointer { input in
                ftpscope_aes_cbc(0, key, Int32(key.count), iv, input.baseAddress, Int32(input.count), out) == 1
            }
        }) else { return nil }
        // TLS padding: padding_length + 1 bytes, each of that value (not PKCS#7's).
        let padding = Int(plain[plain.count - 1])
        guard plain.count >= padding + 1 + (encryptThenMAC ? 0 : macLength),
              plain.suffix(padding + 1).allSatisfy({ Int($0) == padding }) else { return nil }
        plain.removeLast(padding + 1)
        if !encryptThenMAC {
            let tag = plain.suffix(macLength)
            plain.removeLast(macLength)
            guard authenticates(tag, header: header, content: plain[...]) else { return nil }
        }
        return plain
    }

    private func authenticates(_ tag: ArraySlice<UInt8>, header: [UInt8], content: ArraySlice<UInt8>) -> Bool {
        // The content is MACed where it lies, not copied behind the sequence number and header.
        func valid<H: HashFunction>(_: H.Type) -> Bool {
            var mac = HMAC<H>(key: SymmetricKey(data: macKey))
            mac.update(data: additionalData(header, length: content.count))
            content.withUnsafeBytes { mac.update(data: $0) }
            return mac.finalize().withUnsafeBytes { $0.elementsEqual(tag) }
        }
        return switch suite.mac {
        case .sha1: valid(Insecure.SHA1.self)
        case .sha256: valid(SHA256.self)
        case .sha384: valid(SHA384.self)
        case nil: false
        }
    }
}
