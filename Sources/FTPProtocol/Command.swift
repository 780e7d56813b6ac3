/// One client command (RFC 959 §5.3): a verb and an optional argument.
public struct Command: Sendable, Equatable {
    /// Uppercased verb, e.g. `RETR`; nil when the line does not start with a plausible verb.
    public var verb: String?
    /// Everything after the first space, as sent (bytes: file names need not be UTF-8).
    public var argument: [UInt8]?
    public var raw: [UInt8]

    public init(verb: String?, argument: [UInt8]?, raw: [UInt8]) {
        self.verb = verb; self.argument = argument; self.raw = raw
    }

    /// Parses a command line. Verbs are 1–16 ASCII letters (the RFC's are 3–4; extensions
    /// such as `SITE` sub-commands and `XMKD` stay within that).
    public static func parse(_ line: [UInt8]) -> Command {
        var end = 0
        while end < line.count, line[end] != 0x20 { end += 1 }
        let verbBytes = line[0..<end]
        let plausible = (1...16).contains(verbBytes.count)
            && verbBytes.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) }
        guard plausible else { return Command(verb: nil, argument: nil, raw: line) }
        let verb = String(decoding: verbBytes.map { $0 >= 0x61 ? $0 - 0x20 : $0 }, as: UTF8.self)
        let argument = end < line.count ? Array(line[(end + 1)...]) : nil
        return Command(verb: verb, argument: argument, raw: line)
    }

    /// Commands whose reply sequence includes a data transfer (1xx then a final reply).
    public var isTransfer: Bool {
        switch verb {
        case "RETR", "STOR", "STOU", "APPE", "LIST", "NLST", "MLSD": true
        default: false
        }
    }
}
