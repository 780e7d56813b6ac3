/// The cipher suites whose records can be opened with a key log: TLS 1.3's three and TLS 1.2's
/// AEAD suites (AES-GCM, ChaCha20-Poly1305). CBC suites are not: servers of the last decade
/// prefer AEAD, and every TLS 1.3 connection uses it.
struct CipherSuite: Sendable, Equatable {
    enum Cipher: Sendable { case aes128GCM, aes256GCM, chacha20Poly1305 }
    enum Hash: Sendable { case sha256, sha384 }

    let id: UInt16
    let cipher: Cipher
    let hash: Hash

    var keyLength: Int { cipher == .aes128GCM ? 16 : 32 }
    var hashLength: Int { hash == .sha256 ? 32 : 48 }

    init?(id: UInt16) {
        self.id = id
        switch id {
        case 0x1301, 0xC02B, 0xC02F, 0x009C, 0x009E: cipher = .aes128GCM; hash = .sha256
        case 0x1302, 0xC02C, 0xC030, 0x009D, 0x009F: cipher = .aes256GCM; hash = .sha384
        case 0x1303, 0xCCA8, 0xCCA9, 0xCCAA: cipher = .chacha20Poly1305; hash = .sha256
        default: return nil
        }
    }

    /// The suite as IANA numbers it, for a message that names one that cannot be opened.
    static func name(_ id: UInt16) -> String {
        let digits = Array("0123456789ABCDEF")
        return "0x" + String((0..<4).map { digits[Int(id >> (12 - 4 * $0) & 0xF)] })
    }
}
