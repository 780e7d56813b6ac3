/// How well a reply code fits a command, from RFC 959's command-reply sequences (section 5.4)
/// and the extensions' (RFC 2228, 2389, 2428, 3659).
///
/// A session asks only after bytes were lost, to find which waiting command a reply answers
/// when the replies before it fell into a gap; in an intact stream replies answer commands in
/// order and nothing is guessed.
public enum ReplyFit: Sendable, Comparable {
    /// The command cannot get this reply.
    case unexpected
    /// It can: any command may be refused (4xx, 5xx) or cut off (421), and some servers answer
    /// with a code of their own (CWD, DELE or MKD with 200, EPSV ALL with 200).
    case possible
    /// One of the positive replies the documents give for the command.
    case expected
}

extension Verb {
    /// How well a reply with `code` fits this command.
    public func fit(_ code: Int) -> ReplyFit {
        // Positive replies tell commands apart; refusals and replies outside the classes do not.
        guard (100..<400).contains(code) else { return .possible }
        let (expected, possible): ([Int], [Int]) = switch self {
        case .user: ([230, 232, 331, 332, 336], [])
        case .pass: ([202, 230, 332], [])
        case .acct: ([202, 230], [])
        case .cwd, .xcwd, .dele, .rmd, .xrmd, .rnto: ([250], [200])
        case .cdup: ([200, 250], [])
        case .smnt: ([202, 250], [])
        case .mkd, .xmkd: ([257], [200, 250])
        case .pwd, .xpwd: ([257], [])
        case .rein: ([120, 220], [])
        case .quit: ([221], [])
        case .port, .eprt, .lprt, .type, .mode, .stru, .noop, .pbsz, .prot, .ccc: ([200], [])
        case .pasv: ([227], [])
        case .epsv: ([229], [200])
        case .lpsv: ([228], [])
        case .allo: ([200, 202], [])
        case .rest, .rnfr: ([350], [200])
        case .retr, .stor, .stou, .appe, .list, .nlst, .mlsd: ([110, 125, 150, 226, 250], [])
        case .abor: ([225, 226], [])
        case .syst: ([215], [])
        case .stat: ([211, 212, 213], [])
        case .help: ([211, 214], [])
        case .feat: ([211], [])
        case .opts: ([200], [202])
        case .size, .mdtm: ([213], [])
        case .mlst: ([250], [])
        case .auth: ([234, 334], [])
        case .adat: ([235, 335], [])
        // Protected commands carry another command; SITE and unknown verbs have no fixed replies.
        case .mic, .conf, .enc, .site, .other: ([], [code])
        }
        if expected.contains(code) { return .expected }
        return possible.contains(code) ? .possible : .unexpected
    }

    /// How well a reply with `code` fits a connection being opened (the greeting).
    public static func greetingFit(_ code: Int) -> ReplyFit {
        code == 220 || code == 120 ? .expected : code >= 400 ? .possible : .unexpected
    }
}
