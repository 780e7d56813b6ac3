import NetworkAddress

/// The verbs ftpscope names: those whose replies change session state (the first two rows),
/// and the common others, so that a session compares small integers per reply rather than
/// strings and a command of a named verb builds no string.
public enum Verb: UInt8, Sendable {
    case user, pass, acct, rein, auth, abor, port, eprt, lprt, rnfr, rnto, rest
    case retr, stor, stou, appe, list, nlst, mlsd
    case syst, type, quit, feat, pasv, epsv, lpsv, noop, size, mdtm, dele, cdup
    case opts, help, stat, site, mode, stru, allo, pbsz, prot, mlst, xpwd, xmkd
    case xrmd, xcwd, adat, conf, smnt, pwd, cwd, mkd, rmd, ccc, enc, mic
    case other

    /// From the bytes of an uppercased three- or four-letter verb, big-endian.
    public init(word: UInt32) {
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
        case 0x5359_5354: self = .syst
        case 0x5459_5045: self = .type
        case 0x5155_4954: self = .quit
        case 0x4645_4154: self = .feat
        case 0x5041_5356: self = .pasv
        case 0x4550_5356: self = .epsv
        case 0x4C50_5356: self = .lpsv
        case 0x4E4F_4F50: self = .noop
        case 0x5349_5A45: self = .size
        case 0x4D44_544D: self = .mdtm
        case 0x4445_4C45: self = .dele
        case 0x4344_5550: self = .cdup
        case 0x4F50_5453: self = .opts
        case 0x4845_4C50: self = .help
        case 0x5354_4154: self = .stat
        case 0x5349_5445: self = .site
        case 0x4D4F_4445: self = .mode
        case 0x5354_5255: self = .stru
        case 0x414C_4C4F: self = .allo
        case 0x5042_535A: self = .pbsz
        case 0x5052_4F54: self = .prot
        case 0x4D4C_5354: self = .mlst
        case 0x5850_5744: self = .xpwd
        case 0x584D_4B44: self = .xmkd
        case 0x5852_4D44: self = .xrmd
        case 0x5843_5744: self = .xcwd
        case 0x4144_4154: self = .adat
        case 0x434F_4E46: self = .conf
        case 0x534D_4E54: self = .smnt
        case 0x50_5744: self = .pwd
        case 0x43_5744: self = .cwd
        case 0x4D_4B44: self = .mkd
        case 0x52_4D44: self = .rmd
        case 0x43_4343: self = .ccc
        case 0x45_4E43: self = .enc
        case 0x4D_4943: self = .mic
        default: self = .other
        }
    }

    /// The verb as sent (uppercased): a literal, so a command of a named verb builds no string.
    var name: String? {
        switch self {
        case .user: "USER"
        case .pass: "PASS"
        case .acct: "ACCT"
        case .rein: "REIN"
        case .auth: "AUTH"
        case .abor: "ABOR"
        case .port: "PORT"
        case .eprt: "EPRT"
        case .lprt: "LPRT"
        case .rnfr: "RNFR"
        case .rnto: "RNTO"
        case .rest: "REST"
        case .retr: "RETR"
        case .stor: "STOR"
        case .stou: "STOU"
        case .appe: "APPE"
        case .list: "LIST"
        case .nlst: "NLST"
        case .mlsd: "MLSD"
        case .syst: "SYST"
        case .type: "TYPE"
        case .quit: "QUIT"
        case .feat: "FEAT"
        case .pasv: "PASV"
        case .epsv: "EPSV"
        case .lpsv: "LPSV"
        case .noop: "NOOP"
        case .size: "SIZE"
        case .mdtm: "MDTM"
        case .dele: "DELE"
        case .cdup: "CDUP"
        case .opts: "OPTS"
        case .help: "HELP"
        case .stat: "STAT"
        case .site: "SITE"
        case .mode: "MODE"
        case .stru: "STRU"
        case .allo: "ALLO"
        case .pbsz: "PBSZ"
        case .prot: "PROT"
        case .mlst: "MLST"
        case .xpwd: "XPWD"
        case .xmkd: "XMKD"
        case .xrmd: "XRMD"
        case .xcwd: "XCWD"
        case .adat: "ADAT"
        case .conf: "CONF"
        case .smnt: "SMNT"
        case .pwd: "PWD"
        case .cwd: "CWD"
        case .mkd: "MKD"
        case .rmd: "RMD"
        case .ccc: "CCC"
        case .enc: "ENC"
        case .mic: "MIC"
        case .other: nil
        }
    }

    /// Commands whose reply sequence includes a data transfer (1xx then a final reply).
    public var isTransfer: Bool {
        switch self {
        case .retr, .stor, .stou, .appe, .list, .nlst, .mlsd: true
        default: false
        }
    }

    /// Commands a server carries out only for a user logged in (it answers 530 before): a
    /// positive reply to one says the session is logged in. Those some servers answer before
    /// a login (SYST, FEAT, HELP, STAT, NOOP, OPTS, the security and session commands) are not.
    public var requiresLogin: Bool {
        switch self {
        case .cwd, .xcwd, .cdup, .pwd, .xpwd, .mkd, .xmkd, .rmd, .xrmd, .dele, .rnfr, .rnto, .size, .mdtm,
             .type, .mode, .stru, .pasv, .epsv, .lpsv, .port, .eprt, .lprt, .rest, .allo, .mlst,
             .retr, .stor, .stou, .appe, .list, .nlst, .mlsd:
            true
        default:
            false
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
        // The verb's kind from its uppercased bytes; a named verb's text is a literal, any other
        // is uppercased straight into the string's own storage (inline for verbs this short).
        var kind = Verb.other
        if end == 3 || end == 4 {
            var word: UInt32 = 0
            for i in 0..<end { word = word << 8 | UInt32(line[i] >= 0x61 ? line[i] - 0x20 : line[i]) }
            kind = Verb(word: word)
        }
        let verb = kind.name ?? String(unsafeUninitializedCapacity: end) { buffer in
            for i in 0..<end { buffer[i] = line[i] >= 0x61 ? line[i] - 0x20 : line[i] }
            return end
        }
        let argument = end < line.count ? Array(bytes: UnsafeRawBufferPointer(rebasing: line[(end + 1)...])) : nil
        return Command(verb: verb, argument: argument, raw: [], kind: kind)
    }

    public var isTransfer: Bool { kind.isTransfer }
}
