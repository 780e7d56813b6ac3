import NetworkAddress

/// One line of the control connection with its terminator removed.
///
/// The bytes are borrowed, valid only during the callback that receives the line: most lines
/// lie whole inside one segment and are handed over where they lie, without a copy or an
/// allocation; a consumer that keeps a line copies what it keeps.
public struct Line {
    public let bytes: UnsafeRawBufferPointer
    /// Bytes beyond the line-length cap that were dropped.
    public let droppedBytes: Int
    /// The line ended at the end of the stream, with no LF.
    public let unterminated: Bool
    /// The first line after lost bytes: it may be the tail of a line whose start was lost,
    /// so the consumer decides by its shape whether it is a whole line.
    public let followsGap: Bool
    /// Telnet commands (RFC 854: IAC and what follows it, other than IAC IAC for a 0xFF data
    /// byte) were removed from the line or just before it: the line is not the bytes as sent.
    public let telnetRemoved: Bool
    /// The line's end was lost in a gap (it is also `unterminated`): these bytes are how it
    /// began, and the consumer decides whether that is enough to know what it was.
    public let cutByGap: Bool

    public init(_ bytes: UnsafeRawBufferPointer, droppedBytes: Int = 0, unterminated: Bool = false, followsGap: Bool = false,
                telnetRemoved: Bool = false, cutByGap: Bool = false) {
        self.bytes = bytes; self.droppedBytes = droppedBytes; self.unterminated = unterminated; self.followsGap = followsGap
        self.telnetRemoved = telnetRemoved; self.cutByGap = cutByGap
    }
}

/// Splits a control-connection byte stream into lines (CRLF or bare LF), removing Telnet
/// commands (RFC 854) on the way, with a cap on line length.
///
/// Fed bytes in whatever pieces TCP delivered them; produces the same lines however the
/// stream was cut. At a gap the line in progress is handed over as cut (its start is known,
/// its end lost; a capture with a short snap length cuts every long line so) and the next
/// line is marked, since the gap may or may not have ended at a line boundary.
public struct LineFramer: Sendable {
    private enum Telnet: Sendable {
        case data
        case command         // after IAC
        case option          // after IAC WILL/WONT/DO/DONT
        case subnegotiation  // inside IAC SB … IAC SE
        case subnegotiationCommand
    }

    private var current: [UInt8] = []
    private var dropped = 0
    private var telnet: Telnet = .data
    private var afterGap = false
    private var removedTelnet = false
    public let maxLineLength: Int

    public init(maxLineLength: Int = 65_536) {
        precondition(maxLineLength > 0)
        self.maxLineLength = maxLineLength
    }

    /// A line is being accumulated (the stream stopped mid-line).
    public var hasPartialLine: Bool { !current.isEmpty || dropped > 0 }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Line) -> Void) {
        let n = bytes.count
        var i = 0
        while i < n {
            if telnet == .data {
                // The run up to the next LF or IAC is handled in one piece: most bytes are plain text.
                let j = ByteScan.firstIndex(of: 0x0A, or: 0xFF, in: bytes, from: i, to: n)
                if j < n, bytes[j] == 0x0A, current.isEmpty, dropped == 0, !removedTelnet {
                    // A whole line inside this buffer: handed over where it lies, cut exactly as
                    // the assembling path below would cut it.
                    let kept = min(j - i, maxLineLength)
                    var end = i + kept
                    if end > i, bytes[end - 1] == 0x0D { end -= 1 }
                    emitView(UnsafeRawBufferPointer(rebasing: bytes[i..<end]), dropped: j - i - kept, emit)
                    i = j + 1
                    continue
                }
                if j > i { append(UnsafeRawBufferPointer(rebasing: bytes[i..<j])) }
                guard j < n else { return }
                i = j + 1
                if bytes[j] == 0xFF { telnet = .command; continue }
                if current.last == 0x0D { current.removeLast() }
                emitLine(unterminated: false, emit)
                continue
            }
            let byte = bytes[i]
            i += 1
            switch telnet {
            case .data:
                break
            case .command:
                switch byte {
                case 0xFF:  // escaped 0xFF data byte
                    telnet = .data
                    if current.count < maxLineLength { current.append(0xFF) } else { dropped += 1 }
                case 0xFB...0xFE: telnet = .option; removedTelnet = true
                case 0xFA: telnet = .subnegotiation; removedTelnet = true
                default: telnet = .data; removedTelnet = true
                }
            case .option:
                telnet = .data
            case .subnegotiation:
                if byte == 0xFF { telnet = .subnegotiationCommand }
            case .subnegotiationCommand:
                telnet = byte == 0xF0 ? .data : .subnegotiation
            }
        }
    }

    private mutating func append(_ run: UnsafeRawBufferPointer) {
        let room = maxLineLength - current.count
        if run.count <= room {
            current.append(bytes: run)
        } else {
            if room > 0 { current.append(bytes: UnsafeRawBufferPointer(rebasing: run.prefix(room))) }
            dropped += run.count - max(room, 0)
        }
    }

    /// Bytes were lost: the line in progress is handed over as cut (and, if it began after an
    /// earlier gap, marked as such too: then only its shape tells whether it began a line);
    /// the next line is marked.
    public mutating func gap(_ emit: (Line) -> Void) {
        if hasPartialLine {
            if current.last == 0x0D { current.removeLast() }
            emitLine(unterminated: true, cutByGap: true, emit)
        }
        current.removeAll(keepingCapacity: true)
        dropped = 0
        telnet = .data
        removedTelnet = false
        afterGap = true
    }

    /// The stream ended: a last line without LF is still a line, marked as such.
    public mutating func finish(_ emit: (Line) -> Void) {
        if hasPartialLine {
            if current.last == 0x0D { current.removeLast() }
            emitLine(unterminated: true, emit)
        }
        current.removeAll()
    }

    /// A line assembled across pieces (or with Telnet commands removed) from `current`.
    private mutating func emitLine(unterminated: Bool, cutByGap: Bool = false, _ emit: (Line) -> Void) {
        let line = current
        // Start empty: keeping capacity would give every later line a buffer as large as the
        // longest line ever seen, and an idle session should hold none.
        current = []
        let lost = dropped
        dropped = 0
        let gap = afterGap
        afterGap = false
        let telnet = removedTelnet
        removedTelnet = false
        line.withUnsafeBytes {
            emit(Line($0, droppedBytes: lost, unterminated: unterminated, followsGap: gap, telnetRemoved: telnet, cutByGap: cutByGap))
        }
    }

    private mutating func emitView(_ bytes: UnsafeRawBufferPointer, dropped lost: Int, _ emit: (Line) -> Void) {
        let gap = afterGap
        afterGap = false
        emit(Line(bytes, droppedBytes: lost, followsGap: gap))
    }
}
