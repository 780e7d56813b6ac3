/// Follows TLS record framing (RFC 8446 §5.1) on a control connection after `AUTH TLS`, so
/// encrypted bytes are counted as records and never parsed as replies. If the bytes stop
/// looking like TLS records and start looking like a clear-text line, the peers have gone
/// back to clear text (CCC) and the scanner says where that began.
public struct TLSRecordScanner: Sendable {
    private var header: [UInt8] = []
    private var remainingBody = 0
    public private(set) var records = 0
    public private(set) var bytes = 0

    public init() {}

    public enum Outcome: Equatable, Sendable {
        case consumed
        /// Clear text begins at this offset of the fed buffer.
        case clearText(at: Int)
    }

    public mutating func feed(_ data: UnsafeRawBufferPointer) -> Outcome {
        var i = 0
        while i < data.count {
            if remainingBody > 0 {
                let n = min(remainingBody, data.count - i)
                remainingBody -= n; i += n; bytes += n
                continue
            }
            if header.isEmpty, !Self.canStartRecord(data[i]) {
                if isDigit(data[i]) || (data[i] >= 0x41 && data[i] <= 0x7A) { return .clearText(at: i) }
            }
            header.append(data[i]); i += 1; bytes += 1
            if header.count == 5 {
                let valid = Self.canStartRecord(header[0]) && header[1] == 3 && header[2] <= 4
                let length = Int(header[3]) << 8 | Int(header[4])
                header.removeAll(keepingCapacity: true)
                if valid { records += 1; remainingBody = length }
            }
        }
        return .consumed
    }

    /// Whether `data` begins with a TLS handshake record's header (type 22, version 3.x): what a
    /// ClientHello or ServerHello starts with, and no FTP line does.
    public static func startsHandshake(_ data: UnsafeRawBufferPointer) -> Bool {
        data.count >= 3 && data[0] == 22 && data[1] == 3 && data[2] <= 4
    }

    /// Content types 20–24: change_cipher_spec, alert, handshake, application_data, heartbeat.
    private static func canStartRecord(_ b: UInt8) -> Bool { b >= 20 && b <= 24 }
}
