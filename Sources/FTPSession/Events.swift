import FTPProtocol
import PacketCapture
import ReplyCatalog

/// Which side of the control connection sent bytes.
public enum Direction: String, Sendable {
    case server, client
}

/// The endpoints and identity shared by every record of one control connection.
/// A class: every record of a session carries it, and one reference is cheaper to pass
/// around than three strings and two endpoints.
public final class SessionIdentity: Sendable, Equatable {
    /// The analyzer's count of sessions when this one began: the number in the id.
    public let number: Int
    public let server: Endpoint
    public let client: Endpoint
    /// When the session's first packet was seen: text output names the day once per session,
    /// each record only the time.
    public let started: Timestamp
    /// Id, server and client as UTF-8, back to back, rendered once per session: every record
    /// of the session repeats them, and one small buffer is cheaper to copy than three strings.
    public let utf8: [UInt8]
    @usableFromInline let idEnd: Int
    @usableFromInline let serverEnd: Int

    /// The id is `<prefix>s<number>`, written as bytes once; the JSON records never need it as
    /// a string (hundreds of thousands of sessions begin in a busy capture).
    public init(prefix: String, number: Int, server: Endpoint, client: Endpoint, started: Timestamp = .zero) {
        precondition(number >= 0)
        self.number = number; self.server = server; self.client = client; self.started = started
        var prefix = prefix
        // Written on the stack and copied once into an array of the exact length: the standard
        // library's ways of writing into a new array's storage (`init(unsafeUninitializedCapacity:)`,
        // `init(repeating:count:)`) allocate through an unspecialised generic path, 650
        // instructions a session against 170 for copying a buffer.
        var idEnd = 0, serverEnd = 0
        utf8 = prefix.withUTF8 { p in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: p.count + 21 + 2 * Endpoint.maxTextLength) { buffer in
                let base = buffer.baseAddress!
                if let source = p.baseAddress { base.update(from: source, count: p.count) }
                var n = p.count
                base[n] = 0x73; n += 1
                var digits = 1, t = number
                while t >= 10 { t /= 10; digits += 1 }
                var v = number
                for i in stride(from: n + digits - 1, through: n, by: -1) { base[i] = UInt8(48 + v % 10); v /= 10 }
                n += digits
                idEnd = n
                n += server.writeText(to: base + n)
                serverEnd = n
                n += client.writeText(to: base + n)
                return [UInt8](UnsafeBufferPointer(rebasing: buffer[0..<n]))
            }
        }
        self.idEnd = idEnd
        self.serverEnd = serverEnd
    }

    /// The session's id, e.g. `s12` (text reports; JSON records copy the bytes).
    public var id: String { String(decoding: utf8[0..<idEnd], as: UTF8.self) }
    public var serverText: String { String(decoding: utf8[idEnd..<serverEnd], as: UTF8.self) }
    public var clientText: String { String(decoding: utf8[serverEnd...], as: UTF8.self) }

    /// The three fields' bytes, without copying (inlinable for the same reason as
    /// `Reply.forEachLine`: every record calls it).
    @inlinable
    public func withFields<R>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R) -> R {
        utf8.withUnsafeBytes { raw in
            body(UnsafeRawBufferPointer(rebasing: raw[0..<idEnd]),
                 UnsafeRawBufferPointer(rebasing: raw[idEnd..<serverEnd]),
                 UnsafeRawBufferPointer(rebasing: raw[serverEnd...]))
        }
    }

    public static func == (l: SessionIdentity, r: SessionIdentity) -> Bool {
        l.id == r.id && l.server == r.server && l.client == r.client
    }
}

/// A data address announced on the control connection.
public struct AnnouncedAddress: Sendable, Equatable {
    /// nil for EPSV, where the server's own address applies.
    public var host: String?
    public var port: UInt16
    public init(host: String?, port: UInt16) { self.host = host; self.port = port }
}

/// One server reply with everything the session knows about it.
public struct ReplyEvent: Sendable {
    public var timestamp: Timestamp
    /// The packet that completed the reply, numbered from 1 in the input's order as Wireshark
    /// numbers frames (`frame.number`); 0 when not known.
    public var frame = 0
    public var session: SessionIdentity
    public var reply: Reply
    /// The verb of the command answered: 1–16 ASCII letters, uppercased; for a line that is no
    /// command, its first word in uppercase letters, digits and `?`, cut at 32 with `…`.
    public var command: String?
    /// The command's argument as sent, except that PASS arguments are masked unless asked.
    public var argument: [UInt8]?
    public var state: SessionState
    public var passive: AnnouncedAddress?
    public var protected: ProtectedReply?
    public var anomalies: [String]
    public var latencyMilliseconds: Double?
    /// Which of its session's commands the reply answers (`CommandEvent.number`), nil for the
    /// greeting and replies nothing asked for: a pipelining client has several commands
    /// waiting, and a report pairs each reply with its own, not with the latest one.
    public var commandNumber: Int? = nil

    /// The catalog's entry for the reply's code. Looked up when asked rather than stored: the
    /// entries are shared by every analyzer, and a stored reference was retained and released
    /// per reply from each thread, an atomic write to a line all cores contend for.
    public var catalog: CatalogEntry? { reply.code.flatMap(Catalog.ftp) }
    public var replyClass: ReplyClass? { reply.code.flatMap(ReplyClass.init(code:)) }
    public var group: FunctionGroup? { reply.code.flatMap(FunctionGroup.init(code:)) }
}

/// One client command.
public struct CommandEvent: Sendable {
    public var timestamp: Timestamp
    /// The packet that completed the command line (see `ReplyEvent.frame`).
    public var frame = 0
    public var session: SessionIdentity
    public var command: Command
    /// Argument for display (masked for PASS).
    public var argument: [UInt8]?
    /// PORT/EPRT/LPRT decoded.
    public var active: AnnouncedAddress?
    public var anomalies: [String]
    /// The command's place among its session's commands, from 1.
    public var number: Int
}

/// Bytes of a control stream that were never captured.
public struct GapEvent: Sendable {
    public var timestamp: Timestamp
    /// The packet that showed the bytes lost (see `ReplyEvent.frame`).
    public var frame = 0
    public var session: SessionIdentity
    public var direction: Direction
    public var bytes: Int
}

/// One data transfer, correlated with the command that used it.
public struct TransferSummary: Sendable {
    /// The verb that asked for the transfer; nil when the capture does not hold it: a 150 or a
    /// 226 answering a command the capture lost (or sent before it began), or a data
    /// connection no command claimed (Zeek's `<unknown>`).
    public var command: String?
    public var path: String?
    /// `path` resolved against the working directory the server named (PWD, then CWDs), or
    /// absolute as sent; nil when the directory is not known.
    public var absolutePath: String?
    public var requested: Timestamp
    public var mode: String?            // passive / active
    /// The representation type (`TYPE`) the server accepted before the transfer began: `A`,
    /// `I`, `E` or `L`; nil when the capture holds none (RFC 959's default is `A`).
    public var representationType: String?
    /// The transfer mode (`MODE`) the server accepted: `S`, `B`, `C` or `Z` (deflate); nil
    /// when the capture holds none (the default is `S`).
    public var transferMode: String?
    /// MODE Z: the file's size once its deflated bytes were inflated; nil otherwise, or when
    /// they could not all be (bytes lost, a stream cut short).
    public var inflatedBytes: Int?
    public var dataConnection: (client: Endpoint, server: Endpoint)?
    public var bytesToServer = 0
    public var bytesToClient = 0
    /// Bytes within `bytes` the capture did not show (packets it lost, payloads its snap length
    /// cut; Zeek's `missing_bytes`): the transfer moved them, the capture cannot tell what they were.
    public var uncapturedBytes = 0
    public var dataStart: Timestamp?
    public var dataEnd: Timestamp?
    /// The frame that completed the command's line (as `ReplyEvent.frame`); nil without one.
    public var commandFrame: Int?
    /// The first and last frames that carried the data connection's bytes: Wireshark's
    /// `ftp.command-response.first-frame-num` and `last-frame-num`; nil when none did.
    public var dataFrames: (first: Int, last: Int)?
    /// The size the server gave: in its 150 ("(27019 bytes)"), or else in its 213 to a SIZE
    /// of the same file just before a RETR.
    public var announcedSize: Int?
    /// REST's offset when the transfer resumed one: the bytes expected are the size less it.
    public var restartOffset: Int?
    public var finalCode: Int?
    public var outcome: String = "pending"  // completed, failed, aborted, pending, unexpected
    /// What the data connection carried, told by its first bytes with Zeek's names
    /// (`application/x-dosexec`, `text/plain`, …); nil when no byte of it was seen.
    public var mimeType: String?
    /// The file's digests (`--hash`), when its data connection was seen whole.
    public var digests: TransferDigests?
    /// Where `--extract` wrote the file, and whether it holds all of it: every byte from the
    /// data connection's SYN to its FIN, not resumed after REST.
    public var extractedPath: String?
    public var extractedWhole: Bool?
    /// The data connection was TLS (after `PROT P`, RFC 4217): its bytes are records, so no
    /// content type, digest, file or size comparison is made of them.
    public var tls = false
    /// `--tls-keylog` opened the TLS data connection: bytes, content type, digests and file are
    /// the plaintext's.
    public var tlsDecrypted = false

    public var bytes: Int { bytesToServer + bytesToClient }
    public var durationMilliseconds: Double? {
        guard let s = dataStart, let e = dataEnd else { return nil }
        return e.milliseconds(since: s)
    }
    /// Whether the bytes seen are the announced size (or, resumed, the size less the offset:
    /// servers announce either). Not known without a data connection in the capture (one
    /// filtered to port 21): nothing was seen to compare.
    ///
    /// In MODE Z the file's inflated size is compared; in MODE B and C the bytes hold block
    /// headers or compressed runs, so nothing is. In TYPE A (or without a TYPE, A being the
    /// default) a server whose files end lines with LF alone sends each as CRLF: more bytes
    /// than the size, up to twice as many, may be the whole file and say nothing either way.
    public var sizeMatches: Bool? {
        if tls && !tlsDecrypted || dataConnection == nil { return nil }
        guard let size = announcedSize else { return nil }
        let carried: Int
        switch transferMode {
        case "Z": guard let n = inflatedBytes else { return nil }; carried = n
        case "B", "C": return nil
        default: carried = bytes
        }
        if carried == size || restartOffset.map({ size - $0 == carried }) == true { return true }
        let least = size - max(0, restartOffset ?? 0)
        if representationType == nil || representationType == "A", carried > least, carried <= 2 * size { return nil }
        return false
    }
}

/// A command the server never answered, as far as the capture shows: sent at `timestamp`;
/// `verb` nil for the greeting a connection waited for.
public struct UnansweredCommand: Sendable, Equatable {
    public var timestamp: Timestamp
    public var verb: String?
    public var argument: String?
    public init(timestamp: Timestamp, verb: String?, argument: String?) {
        self.timestamp = timestamp; self.verb = verb; self.argument = argument
    }
    /// At most this many are listed per session (a client that never gets answers may have
    /// thousands waiting).
    public static let listed = 100
}

/// Transfers a session record does not list, added up.
public struct UnlistedTransfers: Sendable, Equatable {
    public var count = 0
    public var bytes = 0
    public var missingBytes = 0
    public init() {}

    mutating func add(_ t: TransferSummary) {
        count += 1; bytes += t.bytes; missingBytes += t.uncapturedBytes
    }
}

/// What a session amounted to, written when it ends.
public struct SessionSummary: Sendable {
    public var session: SessionIdentity
    public var first: Timestamp
    public var last: Timestamp
    public var user: String?
    public var anonymous: Bool
    public var login: String              // success, failed, none
    public var loginFailures: Int
    public var commands: Int
    public var replies: Int
    public var codes: CodeCounts
    public var repliesByClass: [String: Int] { codes.byClass }
    public var repliesByCode: [Int: Int] { codes.byCode }
    public var gaps: Int
    public var gapBytes: Int
    /// The first `TransferOverflow.listed` transfers; later ones are counted in `unlisted`.
    public var transfers: [TransferSummary]
    /// Transfers past the listed ones (a mirroring client's thousands of files over one
    /// session), added up as each was settled: how many, and their bytes and missing bytes.
    public var unlisted = UnlistedTransfers()
    public var errors: Int                // 4xx and 5xx replies
    public var anomalies: [String: Int]
    public var finalState: SessionState
    public var tls: Bool
    public var tlsRecords: Int
    public var startedMidstream: Bool
    public var endReason: String          // fin, rst, idle, evicted, end of input, port reused
    /// Commands (and a greeting) still waiting for their reply when the session ended, the
    /// first `UnansweredCommand.listed` of them.
    public var unanswered: [UnansweredCommand] = []
    /// TLS records `--tls-keylog` opened, and what decryption made of the connection: nil when
    /// no key log was given or the session used no TLS (see `TLSDecryptor.outcome`).
    public var tlsDecrypted = 0
    public var tlsDecryption: String?
    public var durationMilliseconds: Double { last.milliseconds(since: first) }
}

/// Totals for the whole input, written last.
public struct CaptureSummary: Sendable {
    public var packets = 0
    public var bytes = 0
    public var tcpSegments = 0
    public var notIP = 0
    public var notTCP = 0
    /// IP fragments read, and what became of them (see `FragmentReassembler.Counts`).
    public var ipFragments = 0
    public var ipDatagramsReassembled = 0
    public var ipFragmentsUnreassembled = 0
    public var ipFragmentConflicts = 0
    public var malformed: [String: Int] = [:]
    public var unsupportedLinkType = 0
    /// Which link types those packets had (DLT values, ascending): a capture of a link
    /// ftpscope does not decode is named, not just counted as nothing found.
    public var unsupportedLinkTypes: [Int32] = []
    public var truncatedPackets = 0
    public var connections = 0
    public var ftpSessions = 0
    public var dataConnections = 0
    public var replies = 0
    public var commands = 0
    public var gaps = 0
    public var gapBytes = 0
    /// Bytes of transfers the capture did not show (their `uncapturedBytes`, added up): the
    /// data connections' loss, as `gapBytes` is the control connections'.
    public var missingDataBytes = 0
    public var evictions = 0
    public var idleExpirations = 0
    /// Times a stream's out-of-order buffer hit its cap and a hole was given up as a gap.
    public var bufferCapHits = 0
    /// Files `--extract` wrote, and the writes that failed by reason (`No space left on device`).
    public var filesExtracted = 0
    public var extractionFailures: [String: Int] = [:]
    public var anomalies: [String: Int] = [:]
    public var repliesByClass: [String: Int] = [:]
    public var peakConnections = 0
    public var first: Timestamp?
    public var last: Timestamp?
    public init() {}
}

/// Everything the analyzer reports, in the order it learns it.
public enum AnalysisEvent: Sendable {
    case reply(ReplyEvent)
    case command(CommandEvent)
    case gap(GapEvent)
    case session(SessionSummary)

    public enum Kind: Sendable { case reply, command, gap, session }

    /// Which case, read from the event in place: `if case .command = event` at a call site
    /// copied the whole event (a retain and a release of each of its references) to test it.
    public var kind: Kind {
        switch self {
        case .reply: .reply
        case .command: .command
        case .gap: .gap
        case .session: .session
        }
    }

    /// The session the event belongs to.
    public var identity: SessionIdentity {
        switch self {
        case .reply(let r): r.session
        case .command(let c): c.session
        case .gap(let g): g.session
        case .session(let s): s.session
        }
    }
}
