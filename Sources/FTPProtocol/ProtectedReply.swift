#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// RFC 2228 protection levels of 631, 632 and 633 replies.
public enum ProtectionLevel: String, Sendable, Equatable {
    case integrity = "integrity"
    case confidentialityAndIntegrity = "confidentiality+integrity"
    case confidentiality = "confidentiality"

    public init?(code: Int) {
        switch code {
        case 631: self = .integrity
        case 632: self = .confidentialityAndIntegrity
        case 633: self = .confidentiality
        default: return nil
        }
    }
}

/// A decoded RFC 2228 protected reply: the base64 payload of all its lines and, where the
/// payload carries a reply in clear (integrity-only or an unprotected test), that inner reply.
public struct ProtectedReply: Sendable, Equatable {
    public var level: ProtectionLevel
    /// Size of the decoded payload; nil when it is not valid base64.
    public var payloadBytes: Int?
    public var inner: Reply?

    public static func decode(_ reply: Reply) -> ProtectedReply? {
        guard let code = reply.code, let level = ProtectionLevel(code: code) else { return nil }
        var base64: [UInt8] = []
        for line in reply.lines {
            // Each line is `63x-<base64>` or `63x <base64>`; the payload spans all lines.
            let body = line.count > 4 ? line[4...] : []
            base64.append(contentsOf: body.filter { $0 != 0x20 && $0 != 0x09 })
        }
        guard let data = Data(base64Encoded: Data(base64)) else {
            return ProtectedReply(level: level, payloadBytes: nil, inner: nil)
        }
        let bytes = [UInt8](data)
        return ProtectedReply(level: level, payloadBytes: bytes.count, inner: clearReply(in: bytes))
    }

    /// The first reply in clear text inside a payload: a line that begins `NNN ` or `NNN-`
    /// at its start or after a token header, made of printable text up to CRLF.
    static func clearReply(in bytes: [UInt8]) -> Reply? {
        let searchLimit = min(bytes.count, 128)
        var start = 0
        while start + 4 <= bytes.count, start < searchLimit {
            let b = bytes
            if isDigit(b[start]), isDigit(b[start + 1]), isDigit(b[start + 2]),
               b[start + 3] == 0x20 || b[start + 3] == 0x2D, start == 0 || !isDigit(b[start - 1]) {
                var framer = LineFramer(maxLineLength: 4096)
                var parser = ReplyParser(maxLinesPerReply: 1000)
                var found: Reply?
                let tail = Array(b[start...])
                tail.withUnsafeBytes { raw in
                    framer.feed(raw) { line in
                        guard found == nil else { return }
                        parser.feed(line) { found = $0 }
                    }
                }
                if let r = found, r.code != nil, r.anomalies.isEmpty,
                   r.lines.allSatisfy({ $0.allSatisfy { $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 } }) {
                    return r
                }
            }
            start += 1
        }
        return nil
    }
}
