import NetworkAddress

/// Named anomalies the reply parser can raise. The raw values are the names users see.
public enum ReplyAnomaly: String, Sendable, Hashable, CaseIterable {
    case lineTooLong = "line too long"
    case tooManyLines = "too many lines in reply"
    case unterminatedMultiline = "unterminated multi-line reply"
    case unterminatedLine = "unterminated line"
    case malformedReplyLine = "malformed reply line"
    case codeOutsideGrammar = "code outside reply grammar"
    case cutByGap = "reply cut by gap"
    /// Telnet commands were removed from a line (RFC 959 replies travel over Telnet's NVT, but
    /// servers rarely send any): the text shown is not every byte the server sent.
    case telnetCommandsRemoved = "telnet commands removed"
}

/// One complete server reply (RFC 959 §4.2), single- or multi-line.
///
/// The lines are kept back to back in one buffer: a reply costs one allocation however many
/// lines it has, where an array of line arrays cost one per line plus one.
public struct Reply: Sendable, Equatable {
    /// The three-digit code, or nil for a line that does not begin with one.
    public var code: Int?
    /// Every line as sent, without terminators (and without Telnet commands), back to back.
    public private(set) var storage: [UInt8]
    /// Where each line ends in `storage` when there are several; empty for one line.
    @usableFromInline private(set) var ends: [Int]
    /// Lines past the per-reply cap that were counted but not kept.
    public var droppedLines: Int
    public var anomalies: [ReplyAnomaly]

    public init(code: Int?, lines: [[UInt8]], droppedLines: Int = 0, anomalies: [ReplyAnomaly] = []) {
        var storage: [UInt8] = []
        var ends: [Int] = []
        for l in lines { storage.append(contentsOf: l); ends.append(storage.count) }
        self.init(code: code, storage: storage, ends: ends, droppedLines: droppedLines, anomalies: anomalies)
    }

    init(code: Int?, storage: [UInt8], ends: [Int], droppedLines: Int = 0, anomalies: [ReplyAnomaly] = []) {
        self.code = code; self.storage = storage
        // One form per content: a single line is always stored without ends.
        self.ends = ends.count <= 1 ? [] : ends
        self.droppedLines = droppedLines; self.anomalies = anomalies
    }

    public var lineCount: Int { ends.isEmpty ? 1 : ends.count }

    /// The same reply in buffers of its own exact size. A reply shares the buffer its parser
    /// reuses (reserved for a multi-line reply, kept up to 16 KiB): one a consumer keeps for
    /// long, as reports keep the replies of every open session, would hold that capacity.
    public func compacted() -> Reply {
        // Copied through buffer pointers: `Array(array)` would share the buffer it copies.
        Reply(code: code, storage: storage.withUnsafeBufferPointer { Array($0) }, ends: ends.withUnsafeBufferPointer { Array($0) },
              droppedLines: droppedLines, anomalies: anomalies)
    }

    /// Each line's bytes in order, without copying. Inlinable: the record encoder calls it for
    /// every reply, and inlined the closure costs neither a context nor an indirect call.
    @inlinable
    public func forEachLine(_ body: (UnsafeRawBufferPointer) -> Void) {
        storage.withUnsafeBytes { raw in
            if ends.isEmpty { body(raw); return }
            var start = 0
            for end in ends {
                body(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                start = end
            }
        }
    }

    /// Each line as an array (allocates; for reports and tests, not the record path).
    public var lines: [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(lineCount)
        forEachLine { out.append(Array($0)) }
        return out
    }

    public var firstLine: [UInt8] { Array(storage[0..<(ends.first ?? storage.count)]) }

    /// The first line's text after its code and separator, without copying.
    public func withFirstLineText<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        storage.withUnsafeBytes { raw in
            let end = ends.first ?? raw.count
            let start = end >= 4 && code != nil ? 4 : min(end, 3)
            return body(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
        }
    }

    /// The last line's text after its code and separator, without copying: where a
    /// multi-line reply's closing line says what the lines before it led up to.
    public func withLastLineText<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        storage.withUnsafeBytes { raw in
            let start = ends.count >= 2 ? ends[ends.count - 2] : 0
            let line = UnsafeRawBufferPointer(rebasing: raw[start...])
            let hasCode = line.count >= 4 && isDigit(line[0]) && isDigit(line[1]) && isDigit(line[2])
                && (line[3] == 0x20 || line[3] == 0x2D)
            return body(hasCode ? UnsafeRawBufferPointer(rebasing: line[4...]) : line)
        }
    }

    public var isMultiline: Bool {
        let first = ends.first ?? storage.count
        return first > 3 && storage[3] == UInt8(ascii: "-")
    }

    /// The text of every line after its code and separator, joined by LF: what address
    /// decoders and protected-reply decoding read.
    public var text: [UInt8] {
        var out: [UInt8] = []
        var first = true
        forEachLine { l in
            if !first { out.append(0x0A) }
            first = false
            let hasCode = l.count >= 4 && isDigit(l[0]) && isDigit(l[1]) && isDigit(l[2])
                && (l[3] == 0x20 || l[3] == 0x2D)
            out.append(bytes: hasCode ? UnsafeRawBufferPointer(rebasing: l[4...]) : l)
        }
        return out
    }
}

@inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

/// Whether a code fits the RFC 959 reply grammar (first digit 1–5, or 6 for RFC 2228;
/// second digit 0–5; third any).
@inline(__always) func isInReplyGrammar(_ first: UInt8, _ second: UInt8) -> Bool {
    first >= 0x31 && first <= 0x36 && second >= 0x30 && second <= 0x35
}

public func isInReplyGrammar(_ code: Int) -> Bool {
    let first = code / 100, second = code / 10 % 10
    return (1...6).contains(first) && (0...5).contains(second)
}
