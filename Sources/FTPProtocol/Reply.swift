/// Named anomalies the reply parser can raise. The raw values are the names users see.
public enum ReplyAnomaly: String, Sendable, Hashable, CaseIterable {
    case lineTooLong = "line too long"
    case tooManyLines = "too many lines in reply"
    case unterminatedMultiline = "unterminated multi-line reply"
    case unterminatedLine = "unterminated line"
    case malformedReplyLine = "malformed reply line"
    case codeOutsideGrammar = "code outside reply grammar"
    case cutByGap = "reply cut by gap"
}

/// One complete server reply (RFC 959 §4.2), single- or multi-line.
public struct Reply: Sendable, Equatable {
    /// The three-digit code, or nil for a line that does not begin with one.
    public var code: Int?
    /// Each line as sent, without its terminator (and without Telnet commands).
    public var lines: [[UInt8]]
    /// Lines past the per-reply cap that were counted but not kept.
    public var droppedLines: Int
    public var anomalies: [ReplyAnomaly]

    public init(code: Int?, lines: [[UInt8]], droppedLines: Int = 0, anomalies: [ReplyAnomaly] = []) {
        self.code = code; self.lines = lines; self.droppedLines = droppedLines; self.anomalies = anomalies
    }

    public var isMultiline: Bool { lines.first.map { $0.count > 3 && $0[3] == UInt8(ascii: "-") } ?? false }

    /// The text of every line after its code and separator, joined by LF: what address
    /// decoders and protected-reply decoding read.
    public var text: [UInt8] {
        var out: [UInt8] = []
        for (i, l) in lines.enumerated() {
            if i > 0 { out.append(0x0A) }
            let hasCode = l.count >= 4 && isDigit(l[0]) && isDigit(l[1]) && isDigit(l[2])
                && (l[3] == 0x20 || l[3] == 0x2D)
            out.append(contentsOf: hasCode ? l[4...] : l[...])
        }
        return out
    }
}

@inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

/// Whether a code fits the RFC 959 reply grammar (first digit 1–5, or 6 for RFC 2228;
/// second digit 0–5; third any).
public func isInReplyGrammar(_ code: Int) -> Bool {
    let first = code / 100, second = code / 10 % 10
    return (1...6).contains(first) && (0...5).contains(second)
}
