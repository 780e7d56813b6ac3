/// Protocols whose codes the catalog holds.
public enum CatalogProtocol: String, Sendable, CaseIterable {
    case ftp, http, websocket
}

/// One catalog entry: a status code with its meaning in Chinese (from the sources) and English.
/// Immutable and shared: every reply record points at its entry rather than copying five strings.
public final class CatalogEntry: Sendable, Equatable {
    public let `protocol`: CatalogProtocol
    /// The code as written: `227`, `403.14`, `1006`, or a range such as `3000-3999`.
    public let code: String
    public let name: String?
    public let chinese: String
    public let english: String
    /// The "原因" (cause) note some sources add for FTP codes.
    public let cause: String?

    init(protocol: CatalogProtocol, code: String, name: String?, chinese: String, english: String, cause: String?) {
        self.protocol = `protocol`; self.code = code; self.name = name
        self.chinese = chinese; self.english = english; self.cause = cause
    }

    public static func == (l: CatalogEntry, r: CatalogEntry) -> Bool {
        l.protocol == r.protocol && l.code == r.code && l.chinese == r.chinese && l.english == r.english
    }

    public func meaning(_ language: Language) -> String { language == .chinese ? chinese : english }

    /// Class label derived from the code: `2xx` for FTP and HTTP, the range for WebSocket.
    public var classLabel: String {
        switch self.protocol {
        case .ftp, .http: return "\(code.prefix(1))xx"
        case .websocket:
            guard let n = Int(code.split(separator: "-")[0]) else { return code }
            switch n {
            case 0..<1000: return "0-999"
            case 1000..<2000: return n <= 1015 ? "1000-1015" : "1016-1999"
            case 2000..<3000: return "2000-2999"
            case 3000..<4000: return "3000-3999"
            default: return "4000-4999"
            }
        }
    }
}

public enum Language: String, Sendable, CaseIterable {
    case english = "en"
    case chinese = "zh"
}

/// Lookup over the generated entries. Immutable, so shared freely across threads.
public enum Catalog {
    /// Indexed by code: looked up once per reply, so an array rather than a hash.
    private static let ftpByCode: [CatalogEntry?] = {
        var table = [CatalogEntry?](repeating: nil, count: 1000)
        for e in entries where e.protocol == .ftp { if let c = Int(e.code), (0..<1000).contains(c) { table[c] = e } }
        return table
    }()

    public static var all: [CatalogEntry] { entries }

    private static let ftpListed: [Bool] = ftpByCode.map { $0 != nil }

    /// Whether the catalog lists an FTP code, without taking a reference to the shared entry
    /// (every analyzer thread asks this per reply).
    @inline(__always)
    public static func listsFTP(_ code: Int) -> Bool { (0..<1000).contains(code) && ftpListed[code] }

    /// The FTP entry for a reply code, or nil: a code no source lists is worth a look.
    @inline(__always)
    public static func ftp(_ code: Int) -> CatalogEntry? { (0..<1000).contains(code) ? ftpByCode[code] : nil }

    /// Looks up any protocol's code; WebSocket codes inside a listed range match that range.
    public static func lookup(_ proto: CatalogProtocol, _ code: String) -> CatalogEntry? {
        if let e = entries.first(where: { $0.protocol == proto && $0.code == code }) { return e }
        guard proto == .websocket, let n = Int(code) else { return nil }
        return entries.first { e in
            guard e.protocol == .websocket else { return false }
            let bounds = e.code.split(separator: "-").compactMap { Int($0) }
            return bounds.count == 2 && (bounds[0]...bounds[1]).contains(n)
        }
    }
}

/// RFC 959 §4.2.1 reply classes, by first digit (6 is RFC 2228's protected replies).
public enum ReplyClass: String, Sendable, CaseIterable {
    case preliminary = "1xx", completion = "2xx", intermediate = "3xx"
    case transientNegative = "4xx", permanentNegative = "5xx", protected = "6xx"

    public init?(code: Int) {
        switch code / 100 {
        case 1: self = .preliminary
        case 2: self = .completion
        case 3: self = .intermediate
        case 4: self = .transientNegative
        case 5: self = .permanentNegative
        case 6: self = .protected
        default: return nil
        }
    }

    public var label: String {
        switch self {
        case .preliminary: "positive preliminary"
        case .completion: "positive completion"
        case .intermediate: "positive intermediate"
        case .transientNegative: "transient negative completion"
        case .permanentNegative: "permanent negative completion"
        case .protected: "protected"
        }
    }
}

/// RFC 959 §4.2.1 function groupings, by second digit.
public enum FunctionGroup: String, Sendable, CaseIterable {
    case syntax, information, connections
    case authentication = "authentication and accounting"
    case unspecified, filesystem = "file system"

    public init?(code: Int) {
        switch code / 10 % 10 {
        case 0: self = .syntax
        case 1: self = .information
        case 2: self = .connections
        case 3: self = .authentication
        case 4: self = .unspecified
        case 5: self = .filesystem
        default: return nil
        }
    }
}
