/// The cipher suites whose records can be opened with a key log: TLS 1.3's three, TLS 1.2's
/// AEAD suites (AES-GCM, ChaCha20-Poly1305), and the AES-CBC suites with an HMAC that TLS 1.0
/// to 1.2 share (what older servers and appliances still negotiate, and what a client limited
/// to them gets from any server). 3DES, RC4 and the export suites are not: nothing current
/// offers them.
struct CipherSuite: Sendable, Equatable {
    enum Cipher: Sendable { case aes128GCM, aes256GCM, chacha20Poly1305, aes128CBC, aes256CBC }
    /// The hash of TLS 1.2's PRF and of TLS 1.3's HKDF.
    enum Hash: Sendable { case sha256, sha384 }
    /// A CBC suite's record MAC: HMAC with this hash.
    enum MAC: Sendable { case sha1, sha256, sha384 }

    let id: UInt16
    let cipher: Cipher
    let hash: Hash
    /// nil for AEAD suites, whose tag authenticates the record.
    let mac: MAC?

    var keyLength: Int {
        switch cipher {
        case .aes128GCM, .aes128CBC: 16
        case .aes256GCM, .aes256CBC, .chacha20Poly1305: 32
        }
    }
    var hashLength: Int { hash == .sha256 ? 32 : 48 }
    var macLength: Int {
        switch mac {
        case nil: 0
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        }
    }
    var isCBC: Bool { mac != nil }

    init?(id: UInt16) {
        self.id = id
        switch id {
        case 0x1301, 0xC02B, 0xC02F, 0x009C, 0x009E: (cipher, mac, hash) = (.aes128GCM, nil, .sha256)
        case 0x1302, 0xC02C, 0xC030, 0x009D, 0x009F: (cipher, mac, hash) = (.aes256GCM, nil, .sha384)
        case 0x1303, 0xCCA8, 0xCCA9, 0xCCAA: (cipher, mac, hash) = (.chacha20Poly1305, nil, .sha256)
        default:
            guard let cbc = Self.cbc(id) else { return nil }
            (cipher, mac, hash) = cbc
        }
    }

    /// RSA, DHE-RSA, ECDHE-ECDSA and ECDHE-RSA key exchanges with AES-CBC (RFC 5246 App. C,
    /// RFC 4492, RFC 5289). The key exchange does not matter here: the key log gives the master
    /// secret it led to.
    private static func cbc(_ id: UInt16) -> (Cipher, MAC, Hash)? {
        switch id {
        case 0x002F, 0x0033, 0xC009, 0xC013: (.aes128CBC, .sha1, .sha256)
        case 0x0035, 0x0039, 0xC00A, 0xC014: (.aes256CBC, .sha1, .sha256)
        case 0x003C, 0x0067, 0xC023, 0xC027: (.aes128CBC, .sha256, .sha256)
        case 0x003D, 0x006B: (.aes256CBC, .sha256, .sha256)
        case 0xC024, 0xC028: (.aes256CBC, .sha384, .sha384)
        default: nil
        }
    }

    /// The suite as IANA numbers it, for a message that names one that cannot be opened.
    static func name(_ id: UInt16) -> String {
        let digits = Array("0123456789ABCDEF")
        return "0x" + String((0..<4).map { digits[Int(id >> (12 - 4 * $0) & 0xF)] })
    }
}
