/// Assembles lines into replies exactly as RFC 959 §4.2 defines them.
///
/// A reply that begins `NNN-` ends only at the first later line that begins with the same
/// three digits followed by a space; every line in between belongs to it, whatever it looks
/// like (other codes, `2200`, blank lines, leading spaces). Caps bound what one reply can hold.
public struct ReplyParser: Sendable {
    private enum State: Sendable {
        /// Joined mid-stream or after a gap: wait for a line that begins a reply.
        case seeking
        case idle
        case multiline(code: Int, prefix: (UInt8, UInt8, UInt8), lines: [[UInt8]], dropped: Int, anomalies: [ReplyAnomaly])
    }

    private var state: State
    public let maxLinesPerReply: Int

    public init(startMidstream: Bool = false, maxLinesPerReply: Int = 10_000) {
        precondition(maxLinesPerReply > 0)
        state = startMidstream ? .seeking : .idle
        self.maxLinesPerReply = maxLinesPerReply
    }

    public var isInsideMultilineReply: Bool { if case .multiline = state { true } else { false } }

    /// Feeds one line; calls `emit` when it completes a reply.
    public mutating func feed(_ line: Line, _ emit: (Reply) -> Void) {
        let b = line.bytes
        var lineAnomalies: [ReplyAnomaly] = []
        if line.droppedBytes > 0 { lineAnomalies.append(.lineTooLong) }
        if line.unterminated { lineAnomalies.append(.unterminatedLine) }

        switch state {
        case .seeking:
            guard startsReply(b) else { return }
            state = .idle
            feed(line, emit)

        case .idle:
            guard b.count >= 3, isDigit(b[0]), isDigit(b[1]), isDigit(b[2]) else {
                emit(Reply(code: nil, lines: [b], anomalies: lineAnomalies + [.malformedReplyLine]))
                return
            }
            let code = Int(b[0] - 48) * 100 + Int(b[1] - 48) * 10 + Int(b[2] - 48)
            var anomalies = lineAnomalies
            if !isInReplyGrammar(code) { anomalies.append(.codeOutsideGrammar) }
            if b.count > 3, b[3] == UInt8(ascii: "-"), !line.unterminated {
                state = .multiline(code: code, prefix: (b[0], b[1], b[2]), lines: [b], dropped: 0, anomalies: anomalies)
                return
            }
            if b.count > 3, b[3] != UInt8(ascii: " "), b[3] != UInt8(ascii: "-") { anomalies.append(.malformedReplyLine) }
            emit(Reply(code: code, lines: [b], anomalies: anomalies))

        case .multiline(let code, let p, var lines, var dropped, var anomalies):
            // Release the state's reference first so appending does not copy every line kept.
            state = .idle
            // The first line after a gap may be the tail of a lost line: keep it only if it
            // has the shape of a reply line, never show a fabricated line.
            if line.followsGap && !startsReply(b) {
                state = .multiline(code: code, prefix: p, lines: lines, dropped: dropped, anomalies: anomalies)
                return
            }
            for a in lineAnomalies where !anomalies.contains(a) { anomalies.append(a) }
            let ends = b.count >= 3 && b[0] == p.0 && b[1] == p.1 && b[2] == p.2
                && (b.count == 3 || b[3] == UInt8(ascii: " "))
            // Reserve the last slot for the closing line so a capped reply still shows how it ended.
            if lines.count < maxLinesPerReply - 1 || (ends && lines.count < maxLinesPerReply) {
                lines.append(b)
            } else {
                dropped += 1
                if !anomalies.contains(.tooManyLines) { anomalies.append(.tooManyLines) }
                // The terminator replaces the last kept line, which is then the one counted.
                if ends { lines[lines.count - 1] = b }
            }
            if ends || line.unterminated {
                if !ends { anomalies.append(.unterminatedMultiline) }
                state = .idle
                emit(Reply(code: code, lines: lines, droppedLines: dropped, anomalies: anomalies))
            } else {
                state = .multiline(code: code, prefix: p, lines: lines, dropped: dropped, anomalies: anomalies)
            }
        }
    }

    /// Bytes were lost. Inside a multi-line reply the parser keeps collecting until the reply's
    /// own terminator (the lost lines are gone, the reply is flagged), so a terminator seen after
    /// the gap is not mistaken for a new reply that would steal the next command's answer.
    /// Otherwise it waits for a line that begins a reply.
    public mutating func gap(_ emit: (Reply) -> Void) {
        if case .multiline(let code, let p, let lines, let dropped, var anomalies) = state {
            if !anomalies.contains(.cutByGap) { anomalies.append(.cutByGap) }
            state = .multiline(code: code, prefix: p, lines: lines, dropped: dropped, anomalies: anomalies)
            return
        }
        state = .seeking
    }

    /// The stream ended: a multi-line reply still open is reported as unterminated.
    public mutating func finish(_ emit: (Reply) -> Void) {
        if case .multiline(let code, _, let lines, let dropped, var anomalies) = state {
            anomalies.append(.unterminatedMultiline)
            emit(Reply(code: code, lines: lines, droppedLines: dropped, anomalies: anomalies))
        }
        state = .idle
    }

    private func startsReply(_ b: [UInt8]) -> Bool {
        b.count >= 3 && isDigit(b[0]) && isDigit(b[1]) && isDigit(b[2])
            && (b.count == 3 || b[3] == UInt8(ascii: " ") || b[3] == UInt8(ascii: "-"))
            && isInReplyGrammar(Int(b[0] - 48) * 100 + Int(b[1] - 48) * 10 + Int(b[2] - 48))
    }
}
