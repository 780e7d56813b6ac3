import FTPSession

/// What a session's TLS came to, in the words the text output and the HTML report share.
enum TLSSummaryText {
    static func of(_ s: SessionSummary) -> String {
        guard let decryption = s.tlsDecryption else { return "\(s.tlsRecords) records, not readable on the wire" }
        return "\(s.tlsRecords) records, \(s.tlsDecrypted) decrypted with the key log (\(decryption))"
    }
}
