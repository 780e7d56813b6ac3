import NetworkAddress

/// One line of the control connection with its terminator removed.
public struct Line: Sendable, Equatable {
    public var bytes: [UInt8]
    /// Bytes beyond the line-length cap that were dropped.
    public var droppedBytes: Int
    /// The line ended at the end of the stream, with no LF.
    public var unterminated: Bool
    /// The first line after lost bytes: it may be the tail of a line whose start was lost,
    /// so the consumer decides by its shape whether it is a whole line.
    public var followsGap: Bool

    public init(_ bytes: [UInt8], droppedBytes: Int = 0, unterminated: Bool = false, followsGap: Bool = false) {
        self.bytes = bytes; self.droppedBytes = droppedBytes; self.unterminated = unterminated; self.followsGap = followsGap
    }
}

/// Splits a control-connection byte stream into lines (CRLF or bare LF), removing Telnet
/// commands (RFC 854) on the way, with a cap on line length.
///
/// Fed bytes in whatever pieces TCP delivered them; produces the same lines however the
/// stream was cut. After a gap the line in progress is dropped (it lost its middle) and the
/// next line is marked, since the gap may or may not have ended at a line boundary.
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
                // Copy the run up to the next LF or IAC in one piece: most bytes are plain text.
                var j = i
                while j < n, bytes[j] != 0x0A, bytes[j] != 0xFF { j += 1 }
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
                case 0xFB...0xFE: telnet = .option
                case 0xFA: telnet = .subnegotiation
                default: telnet = .data
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

    /// Bytes were lost: drop the line in progress and mark the next one.
    public mutating func gap() {
        current.removeAll(keepingCapacity: true)
        dropped = 0
        telnet = .data
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

    private mutating func emitLine(unterminated: Bool, _ emit: (Line) -> Void) {
        // Hand the buffer over and start empty: keeping capacity would give every later line a
        // buffer as large as the longest line ever seen, and an idle session should hold none.
        let line = Line(current, droppedBytes: dropped, unterminated: unterminated, followsGap: afterGap)
        current = []
        emit(line)
        dropped = 0
        afterGap = false
    }
}
