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
            warn("\(self.protocol.rawValue) code \(code) is not in the catalog")
            throw Exit.inputUnreadable
        }
        print("\(e.protocol.rawValue.uppercased()) \(code)\(e.name.map { " \($0)" } ?? "")")
        print("  class:   \(e.classLabel)\(Int(code).flatMap(ReplyClass.init(code:)).map { e.protocol == .ftp ? " (\($0.label))" : "" } ?? "")")
        if e.protocol == .ftp, let n = Int(code), let g = FunctionGroup(code: n) { print("  group:   \(g.rawValue)") }
        print("  en:      \(e.english)")
        print("  zh:      \(e.chinese)")
        if let c = e.cause { print("  cause:   \(c)") }
    }
}
