import FTPProtocol
import PacketCapture
import TCPReassembly

/// A connection on no configured port whose first bytes are being watched to tell whether it
/// is an FTP control connection: the server speaks first with 220, 120 or 421, and the client
/// answers with an FTP verb. The bytes seen meanwhile are kept (bounded) and replayed into the
/// session once it is recognised, so the banner is not lost.
final class Candidate {
    enum Chunk {
        case data(Timestamp, fromLow: Bool, [UInt8])
        case gap(Timestamp, fromLow: Bool, Int)
    }

    enum Verdict { case undecided, ftp(serverIsLow: Bool), notFTP }

    var low: StreamReassembler
    var high: StreamReassembler
    var chunks: [Chunk] = []
    private var lowPrefix: [UInt8] = []
    private var highPrefix: [UInt8] = []
    private var firstSpeakerIsLow: Bool?
    private(set) var buffered = 0
    let first: Timestamp
    let midstream: Bool

    init(maxBuffered: Int, at ts: Timestamp, midstream: Bool) {
        low = StreamReassembler(maxBufferedBytes: maxBuffered)
        high = StreamReassembler(maxBufferedBytes: maxBuffered)
        first = ts
        self.midstream = midstream
    }

    func record(_ event: StreamEvent, fromLow: Bool, at ts: Timestamp) {
        switch event {
        case .data(let b):
            chunks.append(.data(ts, fromLow: fromLow, Array(b)))
            buffered += b.count
            if firstSpeakerIsLow == nil { firstSpeakerIsLow = fromLow }
            if fromLow { if lowPrefix.count < 512 { lowPrefix += b.prefix(512 - lowPrefix.count) } }
            else if highPrefix.count < 512 { highPrefix += b.prefix(512 - highPrefix.count) }
        case .gap(let n):
            chunks.append(.gap(ts, fromLow: fromLow, n))
        }
    }

    func verdict(window: Int) -> Verdict {
        guard let lowFirst = firstSpeakerIsLow else { return .undecided }
        let serverPrefix = lowFirst ? lowPrefix : highPrefix
        let clientPrefix = lowFirst ? highPrefix : lowPrefix
        switch Self.looksLikeGreeting(serverPrefix) {
        case .no: return .notFTP
        case .unknown: return buffered > window ? .notFTP : .undecided
        case .yes: break
        }
        switch Self.looksLikeCommand(clientPrefix) {
        case .no: return .notFTP
        case .unknown: return buffered > window ? .notFTP : .undecided
        case .yes: return .ftp(serverIsLow: lowFirst)
        }
    }

    enum Match { case yes, no, unknown }

    static func looksLikeGreeting(_ p: [UInt8]) -> Match {
        // 220, 120 or 421, then a space or hyphen; compared in place (called on every packet
        // of an undecided connection).
        let codes: [(UInt8, UInt8, UInt8)] = [(0x32, 0x32, 0x30), (0x31, 0x32, 0x30), (0x34, 0x32, 0x31)]
        for c in codes {
            if p.count > 0, p[0] != c.0 { continue }
            if p.count > 1, p[1] != c.1 { continue }
            if p.count > 2, p[2] != c.2 { continue }
            guard p.count >= 4 else { return .unknown }
            return p[3] == 0x20 || p[3] == 0x2D ? .yes : .no
        }
        return .no
    }

    static func looksLikeCommand(_ p: [UInt8]) -> Match {
        var verb: [UInt8] = []
        for b in p {
            if b == 0x20 || b == 0x0D || b == 0x0A { 
                return knownVerbs.contains(String(decoding: verb.map { $0 & 0xDF }, as: UTF8.self)) ? .yes : .no
            }
            guard (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A), verb.count < 4 else { return .no }
            verb.append(b)
        }
        return .unknown
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
