import ArgumentParser
import ReplyCatalog

extension CatalogProtocol: ExpressibleByArgument {}

struct Codes: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain a status code from the catalog, or list the catalog.")

    @Argument(help: "The code, e.g. 227, 403.14 (http) or 1006 (websocket). Omit to list all.")
    var code: String?

    @Option(name: .long, help: "ftp (default), http or websocket.")
    var `protocol`: CatalogProtocol = .ftp

    @Option(name: .long, help: "Language shown first: en or zh.")
    var lang: Language = .english

    func run() throws {
        guard let code else {
            for e in Catalog.all where e.protocol == self.protocol || self.protocol == .ftp && e.protocol == .ftp {
                print("\(e.protocol.rawValue)\t\(e.code)\t\(e.meaning(lang))")
            }
            if self.protocol == .ftp { print("(use --protocol http or --protocol websocket for the other tables)") }
            return
        }
        guard let e = Catalog.lookup(self.protocol, code) else {
            if self.protocol == .ftp { try explainByDigits(code) }
            warn("\(self.protocol.rawValue) code \(code) is not in the catalog")
            throw Exit.inputUnreadable
        }
        print("\(e.protocol.rawValue.uppercased()) \(code)\(e.name.map { " \($0)" } ?? "")")
        print("  class:   \(e.classLabel)\(Int(code).flatMap(ReplyClass.init(code:)).map { e.protocol == .ftp ? " (\($0.label))" : "" } ?? "")")
        if e.protocol == .ftp, let n = Int(code), let g = FunctionGroup(code: n) { print("  group:   \(g.rawValue)") }
        let texts = [("en", e.english), ("zh", e.chinese)]
        for (tag, text) in lang == .chinese ? texts.reversed() : texts { print("  \(tag):      \(text)") }
        if let c = e.cause { print("  cause:   \(c)") }
    }

    /// An FTP code the catalog lacks still says something by its digits (RFC 959 4.2: the
    /// first whether it succeeded, the second what it is about), as a reply with it is shown
    /// on the wire; a string that cannot be a reply code at all is a usage error.
    private func explainByDigits(_ code: String) throws {
        let digits = code.utf8.map { Int($0) - 0x30 }
        guard digits.count == 3, digits.allSatisfy({ (0...9).contains($0) }) else {
            warn("'\(code)' is not an FTP reply code: those are three digits, e.g. 227")
            throw Exit.usage
        }
        let n = digits[0] * 100 + digits[1] * 10 + digits[2]
        guard let c = ReplyClass(code: n), let g = FunctionGroup(code: n) else {
            warn("\(code) is not an FTP reply code: the first digit is 1 to 6 and the second 0 to 5 (RFC 959 4.2, RFC 2228)")
            throw Exit.inputUnreadable
        }
        print("FTP \(code) (not in the catalog; by its digits, RFC 959 4.2)")
        print("  class:   \(c.rawValue) (\(c.label))")
        print("  group:   \(g.rawValue)")
    }
}
