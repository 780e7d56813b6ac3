import NetworkAddress

/// Buffers for the next reply, lent to a parser and returned once the reply was handled.
/// One set serves every parser of an analyzer (replies are handled one at a time): a reply
/// whose consumer keeps nothing then costs no allocation, and no idle session holds spare
/// capacity. A consumer that keeps a reply keeps its buffer; copy-on-write gives the next
/// reply a new one.
public struct ReplyBuffers: Sendable {
    fileprivate var storage: [UInt8] = []
    fileprivate var ends: [Int] = []

    public init() {}

    /// Larger buffers (a reply of thousands of lines) are let go rather than kept for good.
    fileprivate static let keptCapacity = 16 * 1024

    fileprivate mutating func takeStorage() -> [UInt8] {
        var b: [UInt8] = []
        swap(&b, &storage)
        b.removeAll(keepingCapacity: true)
        return b
    }

    fileprivate mutating func takeEnds() -> [Int] {
        var e: [Int] = []
        swap(&e, &ends)
        e.removeAll(keepingCapacity: true)
        return e
    }

    fileprivate mutating func give(storage b: inout [UInt8]) {
        if b.capacity <= Self.keptCapacity, b.capacity > storage.capacity { swap(&b, &storage) }
        b = []
    }

    fileprivate mutating func give(ends e: inout [Int]) {
        if e.capacity <= Self.keptCapacity / 8, e.capacity > ends.capacity { swap(&e, &ends) }
        e = []
    }
}

/// Assembles lines into replies exactly as RFC 959 §4.2 defines them.
///
/// A reply that begins `NNN-` ends only at the first later line that begins with the same
/// three digits followed by a space; every line in between belongs to it, whatever it looks
/// like (other codes, `2200`, blank lines, leading spaces). Caps bound what one reply can hold.
public struct ReplyParser: Sendable {
    private enum State: Sendable {
        /// Joined mid-stream: wait for a line that begins a reply.
        case seeking
        /// After a gap: the same, noting lines that begin none.
        case seekingAfterGap
        /// After a gap, lines that begin no reply were passed over: the middle of a reply whose
        /// first lines were lost. A single line that ends a reply next is that reply's tail.
        case skippingCutReply
        case idle
        /// Inside a multi-line reply; its lines so far are in `storage` and `ends`.
        case multiline(code: Int, prefix: (UInt8, UInt8, UInt8))
    }

    private var state: State
    // The multi-line reply being assembled, kept outside the state enum so that adding a
    // line appends in place.
    private var storage: [UInt8] = []
    private var ends: [Int] = []
    private var dropped = 0
    private var anomalies: [ReplyAnomaly] = []
    public let maxLinesPerReply: Int

    public init(startMidstream: Bool = false, maxLinesPerReply: Int = 10_000) {
        precondition(maxLinesPerReply > 0)
        state = startMidstream ? .seeking : .idle
        self.maxLinesPerReply = maxLinesPerReply
    }

    public var isInsideMultilineReply: Bool { if case .multiline = state { true } else { false } }

    /// Between replies, knowing where the next one begins (not after a gap or mid-stream).
    public var isBetweenReplies: Bool { if case .idle = state { true } else { false } }

    /// Feeds one line; calls `emit` when it completes a reply.
    public mutating func feed(_ line: Line, _ emit: (consuming Reply) -> Void) {
        var spare = ReplyBuffers()
        feed(line, reusing: &spare, emit)
    }

    /// Feeds one line, building replies in `spare`'s buffers and returning them after `emit`.
    public mutating func feed(_ line: Line, reusing spare: inout ReplyBuffers, _ emit: (consuming Reply) -> Void) {
        let b = line.bytes
        // Most lines carry no anomaly: the array is built only for those that do.
        let flawed = line.droppedBytes > 0 || line.unterminated || line.telnetRemoved

        switch state {
        case .seeking, .seekingAfterGap:
            guard startsReply(line) else {
                // A whole line (not the tail of one the gap cut) that begins no reply.
                if case .seekingAfterGap = state, !line.followsGap { state = .skippingCutReply }
                return
            }
            state = .idle
            feed(line, reusing: &spare, emit)

        case .skippingCutReply:
            guard startsReply(line) else { return }
            feedAfterCutReply(line, reusing: &spare, emit)

        case .idle:
            guard b.count >= 3, isDigit(b[0]), isDigit(b[1]), isDigit(b[2]) else {
                // What is left of a line cut by a gap says too little to be shown as a reply.
                if line.cutByGap { return }
                emit(Reply(code: nil, storage: Array(bytes: b), ends: [], anomalies: Self.anomalies(of: line) + [.malformedReplyLine]))
                return
            }
            let code = Int(b[0] &- 48) &* 100 &+ Int(b[1] &- 48) &* 10 &+ Int(b[2] &- 48)
            let inGrammar = isInReplyGrammar(b[0], b[1])
            if b.count > 3, b[3] == UInt8(ascii: "-"), !line.unterminated || line.cutByGap {
                state = .multiline(code: code, prefix: (b[0], b[1], b[2]))
                // Room for a typical multi-line reply at once: growing line by line reallocated
                // both buffers three or four times per reply.
                storage = spare.takeStorage()
                storage.reserveCapacity(max(512, b.count * 8))
                storage.append(bytes: b)
                ends = spare.takeEnds()
                ends.reserveCapacity(16)
                ends.append(b.count)
                dropped = 0
                anomalies = flawed ? Self.anomalies(of: line) : []
                if !inGrammar { anomalies.append(.codeOutsideGrammar) }
                return
            }
            let malformed = b.count > 3 && b[3] != UInt8(ascii: " ") && b[3] != UInt8(ascii: "-")
            var found: [ReplyAnomaly] = []
            if flawed || !inGrammar || malformed {
                found = Self.anomalies(of: line)
                if !inGrammar { found.append(.codeOutsideGrammar) }
                if malformed { found.append(.malformedReplyLine) }
            }
            var one = spare.takeStorage()
            one.append(bytes: b)
            emit(Reply(code: code, storage: one, ends: [], anomalies: found))
            spare.give(storage: &one)

        case .multiline(let code, let p):
            // The first line after a gap may be the tail of a lost line: keep it only if it
            // has the shape of a reply line, never show a fabricated line.
            if line.followsGap && !startsReply(line) { return }
            if flawed {
                for a in Self.anomalies(of: line) where !anomalies.contains(a) { anomalies.append(a) }
            }
            // A line cut right after the code may have gone on with `-`: not known to end it.
            let ends = b.count >= 3 && b[0] == p.0 && b[1] == p.1 && b[2] == p.2
                && (b.count == 3 ? !line.cutByGap : b[3] == UInt8(ascii: " "))
            // Reserve the last slot for the closing line so a capped reply still shows how it ended.
            if self.ends.count < maxLinesPerReply - 1 || (ends && self.ends.count < maxLinesPerReply) {
                appendLine(b)
            } else {
                dropped += 1
                if !anomalies.contains(.tooManyLines) { anomalies.append(.tooManyLines) }
                // The terminator replaces the last kept line, which is then the one counted.
                if ends {
                    self.ends.removeLast()
                    storage.removeSubrange((self.ends.last ?? 0)...)
                    appendLine(b)
                }
            }
            if ends || line.unterminated && !line.cutByGap {
                if !ends { anomalies.append(.unterminatedMultiline) }
                emitMultiline(code, &spare, emit)
            }
        }
    }

    /// The first line to begin a reply after the middle of a cut one. Its last line is not a
    /// whole reply: it is shown for what it is, cut by the gap; a line opening a multi-line
    /// reply begins a new one. Out of line: `feed` stays the size the common path wants.
    @inline(never)
    private mutating func feedAfterCutReply(_ line: Line, reusing spare: inout ReplyBuffers, _ emit: (consuming Reply) -> Void) {
        state = .idle
        feed(line, reusing: &spare) { (r: consuming Reply) in
            var tail = r
            if tail.lineCount == 1 && !tail.anomalies.contains(.cutByGap) { tail.anomalies.append(.cutByGap) }
            emit(tail)
        }
    }

    /// What a line itself is flagged with, in the order records list them.
    private static func anomalies(of line: Line) -> [ReplyAnomaly] {
        var found: [ReplyAnomaly] = []
        if line.droppedBytes > 0 { found.append(.lineTooLong) }
        if line.cutByGap { found.append(.cutByGap) } else if line.unterminated { found.append(.unterminatedLine) }
        if line.telnetRemoved { found.append(.telnetCommandsRemoved) }
        return found
    }

    private mutating func appendLine(_ b: UnsafeRawBufferPointer) {
        storage.append(bytes: b)
        ends.append(storage.count)
    }

    /// Hands the assembled lines to the reply (no copy), starts over empty and returns the
    /// buffers to `spare`.
    private mutating func emitMultiline(_ code: Int, _ spare: inout ReplyBuffers, _ emit: (consuming Reply) -> Void) {
        var lines = storage, lineEnds = ends
        let found = anomalies, dropped = dropped
        state = .idle
        storage = []; ends = []; self.dropped = 0; anomalies = []
        emit(Reply(code: code, storage: lines, ends: lineEnds, droppedLines: dropped, anomalies: found))
        spare.give(storage: &lines)
        spare.give(ends: &lineEnds)
    }

    /// Bytes were lost. Inside a multi-line reply the parser keeps collecting until the reply's
    /// own terminator (the lost lines are gone, the reply is flagged), so a terminator seen after
    /// the gap is not mistaken for a new reply that would steal the next command's answer.
    /// Otherwise it waits for a line that begins a reply.
    public mutating func gap(_ emit: (consuming Reply) -> Void) {
        if case .multiline = state {
            if !anomalies.contains(.cutByGap) { anomalies.append(.cutByGap) }
            return
        }
        if case .skippingCutReply = state { return }
        state = .seekingAfterGap
    }

    /// A multi-line reply cut by a gap whose last line the caller has reason to think was lost
    /// with it (the client sent its next command, and clients wait for a reply's last line):
    /// it is handed over as it is, and the parser waits for a line that begins a reply.
    /// Without this, every reply after the lost terminator would be taken for its lines.
    public mutating func endReplyCutByGap(reusing spare: inout ReplyBuffers, _ emit: (consuming Reply) -> Void) {
        guard case .multiline(let code, _) = state, anomalies.contains(.cutByGap) else { return }
        anomalies.append(.unterminatedMultiline)
        emitMultiline(code, &spare, emit)
        state = .seekingAfterGap
    }

    /// The stream ended: a multi-line reply still open is reported as unterminated.
    public mutating func finish(_ emit: (consuming Reply) -> Void) {
        var spare = ReplyBuffers()
        finish(reusing: &spare, emit)
    }

    public mutating func finish(reusing spare: inout ReplyBuffers, _ emit: (consuming Reply) -> Void) {
        if case .multiline(let code, _) = state {
            anomalies.append(.unterminatedMultiline)
            emitMultiline(code, &spare, emit)
        }
        state = .idle
    }

    /// A line right after lost bytes may be the tail of a longer one: three digits alone there
    /// (`300` of vsftpd's "Session timeout in seconds is 300", its start lost) begin no reply.
    private func startsReply(_ line: Line) -> Bool {
        startsReply(line.bytes) && !(line.followsGap && line.bytes.count == 3)
    }

    private func startsReply(_ b: UnsafeRawBufferPointer) -> Bool {
        b.count >= 3 && isDigit(b[0]) && isDigit(b[1]) && isDigit(b[2])
            && (b.count == 3 || b[3] == UInt8(ascii: " ") || b[3] == UInt8(ascii: "-"))
            && isInReplyGrammar(b[0], b[1])
    }
}
