/// How well a reply code fits a command, from RFC 959's command-reply sequences (section 5.4)
/// and the extensions' (RFC 2228, 2389, 2428, 3659).
///
/// A session asks after bytes were lost, to find which waiting command a reply answers when
/// the replies before it fell into a gap (in an intact stream replies answer commands in order
/// and nothing is guessed), and of every positive reply, to name one its command cannot get.
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
        // Switches, not array literals: the arrays were built on the heap for every reply.
        switch self {
        case .user: return switch code { case 230, 232, 331, 332, 336: .expected; default: .unexpected }
        case .pass: return switch code { case 202, 230, 332: .expected; default: .unexpected }
        case .acct: return switch code { case 202, 230: .expected; default: .unexpected }
        case .cwd, .xcwd, .dele, .rmd, .xrmd, .rnto: return code == 250 ? .expected : code == 200 ? .possible : .unexpected
        case .cdup: return switch code { case 200, 250: .expected; default: .unexpected }
        case .smnt: return switch code { case 202, 250: .expected; default: .unexpected }
        case .mkd, .xmkd: return code == 257 ? .expected : code == 200 || code == 250 ? .possible : .unexpected
        case .pwd, .xpwd: return code == 257 ? .expected : .unexpected
        case .rein: return switch code { case 120, 220: .expected; default: .unexpected }
        case .quit: return code == 221 ? .expected : .unexpected
        case .port, .eprt, .lprt, .type, .mode, .stru, .noop, .pbsz, .prot, .ccc: return code == 200 ? .expected : .unexpected
        case .pasv: return code == 227 ? .expected : .unexpected
        case .epsv: return code == 229 ? .expected : code == 200 ? .possible : .unexpected
        case .lpsv: return code == 228 ? .expected : .unexpected
        case .allo: return switch code { case 200, 202: .expected; default: .unexpected }
        case .rest, .rnfr: return code == 350 ? .expected : code == 200 ? .possible : .unexpected
        case .retr, .stor, .stou, .appe, .list, .nlst, .mlsd: return switch code { case 110, 125, 150, 226, 250: .expected; default: .unexpected }
        case .abor: return switch code { case 225, 226: .expected; default: .unexpected }
        case .syst: return code == 215 ? .expected : .unexpected
        case .stat: return switch code { case 211, 212, 213: .expected; default: .unexpected }
        case .help: return switch code { case 211, 214: .expected; default: .unexpected }
        case .feat: return code == 211 ? .expected : .unexpected
        case .opts: return code == 200 ? .expected : code == 202 ? .possible : .unexpected
        case .size, .mdtm: return code == 213 ? .expected : .unexpected
        case .mlst: return code == 250 ? .expected : .unexpected
        case .auth: return switch code { case 234, 334: .expected; default: .unexpected }
        case .adat: return switch code { case 235, 335: .expected; default: .unexpected }
        // Protected commands carry another command; SITE and unknown verbs have no fixed replies.
        case .mic, .conf, .enc, .site, .other: return .possible
        }
    }

    /// How well a reply with `code` fits a connection being opened (the greeting).
    public static func greetingFit(_ code: Int) -> ReplyFit {
        code == 220 || code == 120 ? .expected : code >= 400 ? .possible : .unexpected
    }
}
