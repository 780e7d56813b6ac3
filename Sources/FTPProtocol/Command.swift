import NetworkAddress

/// The verbs whose replies change session state, named so the session compares small
/// integers per reply rather than strings.
public enum Verb: UInt8, Sendable {
    case user, pass, acct, rein, auth, abor, port, eprt, lprt, rnfr, rnto, rest
    case retr, stor, stou, appe, list, nlst, mlsd
    case other

    /// From an uppercased verb's bytes.
    init(_ v: some Collection<UInt8>) {
        guard v.count == 4 else { self = .other; return }
        var word: UInt32 = 0
        for b in v { word = word << 8 | UInt32(b) }
        self.init(word: word)
    }

    /// From the four bytes of an uppercased four-letter verb, big-endian.
    init(word: UInt32) {
        switch word {
        case 0x5553_4552: self = .user
        case 0x5041_5353: self = .pass
        case 0x4143_4354: self = .acct
        case 0x5245_494E: self = .rein
        case 0x4155_5448: self = .auth
        case 0x4142_4F52: self = .abor
        case 0x504F_5254: self = .port
        case 0x4550_5254: self = .eprt
        case 0x4C50_5254: self = .lprt
        case 0x524E_4652: self = .rnfr
        case 0x524E_544F: self = .rnto
        case 0x5245_5354: self = .rest
        case 0x5245_5452: self = .retr
        case 0x5354_4F52: self = .stor
        case 0x5354_4F55: self = .stou
        case 0x4150_5045: self = .appe
        case 0x4C49_5354: self = .list
        case 0x4E4C_5354: self = .nlst
        case 0x4D4C_5344: self = .mlsd
        default: self = .other
        }
    }

    /// Commands whose reply sequence includes a data transfer (1xx then a final reply).
    public var isTransfer: Bool {
        switch self {
        case .retr, .stor, .stou, .appe, .list, .nlst, .mlsd: true
        default: false
        }
    }
}

/// One client command (RFC 959 §5.3): a verb and an optional argument.
public struct Command: Sendable, Equatable {
    /// Uppercased verb, e.g. `RETR`; nil when the line does not start with a plausible verb.
    public var verb: String?
    /// Everything after the first space, as sent (bytes: file names need not be UTF-8).
    public var argument: [UInt8]?
    /// The line as sent, when it has no verb; empty otherwise.
    public var raw: [UInt8]
    public var kind: Verb

    public init(verb: String?, argument: [UInt8]?, raw: [UInt8], kind: Verb = .other) {
        self.verb = verb; self.argument = argument; self.raw = raw; self.kind = kind
    }

    public static func parse(_ line: [UInt8]) -> Command {
        line.withUnsafeBytes { parse($0) }
    }

    /// Parses a command line. Verbs are 1–16 ASCII letters (the RFC's are 3–4; extensions
    /// such as `SITE` sub-commands and `XMKD` stay within that). `raw` keeps the line only
    /// when it has no verb (what a record then shows); a parsed command costs one allocation,
    /// for its argument.
    public static func parse(_ line: UnsafeRawBufferPointer) -> Command {
        var end = 0
        while end < line.count, line[end] != 0x20 { end += 1 }
        let plausible = (1...16).contains(end)
            && line[0..<end].allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
        guard plausible else { return Command(verb: nil, argument: nil, raw: Array(bytes: line)) }
        // Uppercased straight into the string's own storage (inline for verbs this short); the
        // verb's kind from the same bytes, without reading the string back.
        var word: UInt32 = 0
        let verb = String(unsafeUninitializedCapacity: end) { buffer in
            for i in 0..<end {
                let upper = line[i] >= 0x61 ? line[i] - 0x20 : line[i]
                buffer[i] = upper
                word = word << 8 | UInt32(upper)
            }
            return end
        }
        let argument = end < line.count ? Array(bytes: UnsafeRawBufferPointer(rebasing: line[(end + 1)...])) : nil
        return Command(verb: verb, argument: argument, raw: [], kind: end == 4 ? Verb(word: word) : .other)
    }

    public var isTransfer: Bool { kind.isTransfer }
}
