import FTPProtocol
import PacketCapture
import TCPReassembly

/// A connection on no configured port whose first bytes are being watched to tell whether it
/// is an FTP control connection: the server greets with 220, 120 or 421 and the client sends
/// an FTP verb, whichever speaks first. The bytes seen meanwhile are kept (bounded) and
/// replayed into the session once it is recognised, so the banner is not lost.
final class Candidate {
    /// What arrived, in order: data as a range of `bytes` (all of it kept back to back, one
    /// buffer for the connection rather than an array per segment), or a gap.
    enum Chunk {
        case data(Timestamp, frame: Int, fromLow: Bool, Range<Int>)
        case gap(Timestamp, frame: Int, fromLow: Bool, Int)
        /// The other side acknowledged bytes of this direction the capture has not shown.
        case unseen(fromLow: Bool)
        /// A packet of this direction with bytes acknowledged the other's this far (`unseen`:
        /// past what the capture showed): what a command sent in it is kept with.
        case acknowledgment(fromLow: Bool, UInt32, unseen: Bool)
    }

    enum Verdict { case undecided, ftp(serverIsLow: Bool), notFTP }

    var low: StreamReassembler
    var high: StreamReassembler
    private(set) var chunks: [Chunk] = []
    private(set) var bytes: [UInt8] = []
    /// The first bytes of each direction, what the verdict reads.
    private var lowPrefix = Prefix()
    private var highPrefix = Prefix()
    private var firstSpeakerIsLow: Bool?
    var buffered: Int { bytes.count }
    let first: Timestamp
    let midstream: Bool

    /// The first eight bytes of a direction, kept in the candidate itself (two arrays were two
    /// allocations per connection on an unknown port). Both tests decide within five bytes: a
    /// greeting by its fourth, a verb by the delimiter after at most four letters.
    struct Prefix {
        private var word: UInt64 = 0
        private(set) var count = 0
        static let capacity = 8

        mutating func extend(with b: UnsafeRawBufferPointer) {
            for byte in b.prefix(Self.capacity - count) {
                word |= UInt64(byte) << (8 * UInt64(count))
                count += 1
            }
        }

        func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
            withUnsafeBytes(of: word.littleEndian) { body(UnsafeRawBufferPointer(rebasing: $0.prefix(count))) }
        }
    }

    init(maxBuffered: Int, at ts: Timestamp, midstream: Bool) {
        low = StreamReassembler(maxBufferedBytes: maxBuffered)
        high = StreamReassembler(maxBufferedBytes: maxBuffered)
        first = ts
        self.midstream = midstream
    }

    func record(_ event: StreamEvent, fromLow: Bool, at ts: Timestamp, frame: Int) {
        switch event {
        case .data(let b):
            let start = bytes.count
            bytes.append(bytes: b)
            chunks.append(.data(ts, frame: frame, fromLow: fromLow, start..<bytes.count))
            if firstSpeakerIsLow == nil { firstSpeakerIsLow = fromLow }
            if fromLow { lowPrefix.extend(with: b) } else { highPrefix.extend(with: b) }
        case .gap(let n):
            chunks.append(.gap(ts, frame: frame, fromLow: fromLow, n))
        }
    }

    func noteAcknowledgment(fromLow: Bool, _ ack: UInt32, unseen: Bool) {
        chunks.append(.acknowledgment(fromLow: fromLow, ack, unseen: unseen))
    }

    /// Called for every acknowledgment of `fromLow`'s bytes; recorded once until shown.
    func noteUnseen(fromLow: Bool) {
        if case .unseen(fromLow)? = chunks.last { return }
        chunks.append(.unseen(fromLow: fromLow))
    }

    /// The recorded data of one chunk.
    func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    func verdict(window: Int) -> Verdict {
        guard let lowFirst = firstSpeakerIsLow else { return .undecided }
        let first = lowFirst ? lowPrefix : highPrefix, other = lowFirst ? highPrefix : lowPrefix
        // The server usually speaks first; a pipelining client (lftp without its sync mode)
        // sends its first command before the banner, and the server is then the other side.
        let serverIsLow: Bool
        var answer: Match
        switch first.withBytes(Self.looksLikeGreeting) {
        case .yes:
            serverIsLow = lowFirst
            answer = other.withBytes(Self.looksLikeCommand)
        case .unknown:
            return buffered > window ? .notFTP : .undecided
        case .no:
            switch first.withBytes(Self.looksLikeCommand) {
            case .yes: break
            case .unknown: return buffered > window ? .notFTP : .undecided
            case .no: return .notFTP
            }
            serverIsLow = !lowFirst
            answer = other.withBytes(Self.looksLikeGreeting)
        }
        // The capture holds one side only (the other's bytes acknowledged, never shown): the
        // speaker's own later lines must tell it from SMTP's 220 greeting or POP3's USER.
        if answer == .unknown, other.count == 0, lowFirst ? high.acknowledgedButNeverSeen : low.acknowledgedButNeverSeen {
            answer = serverIsLow == lowFirst ? Self.oneSidedServer(bytes) : Self.oneSidedClient(bytes)
        }
        switch answer {
        case .no: return .notFTP
        case .unknown: return buffered > window ? .notFTP : .undecided
        case .yes: return .ftp(serverIsLow: serverIsLow)
        }
    }

    /// A server's side alone: after its greeting, a reply only an FTP login gets (SMTP answers
    /// EHLO or HELO with 250, POP3 does not greet with a code).
    static func oneSidedServer(_ stream: [UInt8]) -> Match {
        var lines = stream.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()[...]
        guard let greeting = lines.popFirst(), greeting.count >= 4 else { return .unknown }
        if greeting[greeting.startIndex + 3] == 0x2D {
            // A multi-line greeting ends at the line with its code and a space.
            let code = greeting.prefix(3)
            while let line = lines.popFirst() {
                if line.count >= 4, line.prefix(3).elementsEqual(code), line[line.startIndex + 3] == 0x20 { break }
                if lines.isEmpty { return .unknown }
            }
        }
        guard let next = lines.first, next.count >= 4 else { return .unknown }
        let digits = next.prefix(3).map { Int($0) - 0x30 }
        guard digits.allSatisfy({ (0...9).contains($0) }) else { return .no }
        return [331, 332, 230, 232, 234, 530, 211].contains(digits[0] * 100 + digits[1] * 10 + digits[2]) ? .yes : .no
    }

    /// A client's side alone: every line an FTP verb, and among them one POP3 and SMTP do not
    /// have (USER, PASS, LIST or RETR alone could be POP3).
    static func oneSidedClient(_ stream: [UInt8]) -> Match {
        for line in stream.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
            let word = line.prefix { $0 != 0x20 && $0 != 0x0D }
            guard (3...4).contains(word.count), word.allSatisfy({ ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }) else { return .no }
            let packed = word.reduce(UInt32(0)) { $0 << 8 | UInt32($1 & 0xDF) }
            guard isKnownVerb(packed, length: word.count) else { return .no }
            if !pop3Verbs.contains(String(decoding: word.map { $0 & 0xDF }, as: UTF8.self)) { return .yes }
        }
        return .unknown
    }

    /// Verbs a POP3 client sends that are FTP's too, or could be taken for them.
    private static let pop3Verbs: Set<String> = ["USER", "PASS", "STAT", "LIST", "RETR", "DELE", "NOOP", "QUIT", "AUTH", "HELP"]

    enum Match { case yes, no, unknown }

    static func looksLikeGreeting(_ p: [UInt8]) -> Match { p.withUnsafeBytes(looksLikeGreeting) }

    /// 220, 120 or 421, then a space or hyphen; as much as has arrived must agree.
    static func looksLikeGreeting(_ p: UnsafeRawBufferPointer) -> Match {
        for code in [(0x32, 0x32, 0x30), (0x31, 0x32, 0x30), (0x34, 0x32, 0x31)] as [(UInt8, UInt8, UInt8)] {
            if p.count > 0, p[0] != code.0 { continue }
            if p.count > 1, p[1] != code.1 { continue }
            if p.count > 2, p[2] != code.2 { continue }
            guard p.count >= 4 else { return .unknown }
            return p[3] == 0x20 || p[3] == 0x2D ? .yes : .no
        }
        return .no
    }

    static func looksLikeCommand(_ p: [UInt8]) -> Match { p.withUnsafeBytes(looksLikeCommand) }

    /// Up to four letters then a space or line end, naming a verb of `knownVerbs`.
    static func looksLikeCommand(_ p: UnsafeRawBufferPointer) -> Match {
        var word: UInt32 = 0, length = 0
        for b in p {
            if b == 0x20 || b == 0x0D || b == 0x0A {
                return isKnownVerb(word, length: length) ? .yes : .no
            }
            guard (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A), length < 4 else { return .no }
            word = word << 8 | UInt32(b & 0xDF)
            length += 1
        }
        return .unknown
    }

    /// Whether uppercase letters packed big-endian into `word` name a verb of `knownVerbs`:
    /// the verbs `Verb` names, and the few extensions it does not.
    static func isKnownVerb(_ word: UInt32, length: Int) -> Bool {
        guard length == 3 || length == 4 else { return false }
        switch word {
        case 0x484F_5354, 0x434C_4E54, 0x4C41_4E47, 0x5843_5550: return true  // HOST CLNT LANG XCUP
        default: return Verb(word: word) != .other
        }
    }

    /// RFC 959, 2228, 2389, 2428, 3659 and common extension verbs a client may open with.
    static let knownVerbs: Set<String> = [
        "USER", "PASS", "ACCT", "CWD", "CDUP", "SMNT", "QUIT", "REIN", "PORT", "PASV", "TYPE", "STRU",
        "MODE", "RETR", "STOR", "STOU", "APPE", "ALLO", "REST", "RNFR", "RNTO", "ABOR", "DELE", "RMD",
        "MKD", "PWD", "LIST", "NLST", "SITE", "SYST", "STAT", "HELP", "NOOP", "AUTH", "ADAT", "PROT",
        "PBSZ", "CCC", "MIC", "CONF", "ENC", "FEAT", "OPTS", "EPRT", "EPSV", "LPRT", "LPSV", "MDTM",
        "SIZE", "MLST", "MLSD", "HOST", "CLNT", "LANG", "XCWD", "XMKD", "XPWD", "XRMD", "XCUP",
    ]
}
