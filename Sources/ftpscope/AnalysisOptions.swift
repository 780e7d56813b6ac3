import ArgumentParser
import Foundation
import FTPSession
import ReplyCatalog
import TLSDecryption

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, jsonl
}

extension Language: ExpressibleByArgument {}

/// Options shared by `analyze`, `live` and `report`.
struct AnalysisOptions: ParsableArguments {
    @Option(name: .long, help: "BPF filter expression handed to libpcap.")
    var filter: String?

    @Option(name: .long, help: "Also treat this port as FTP control (repeatable; 21 always is).")
    var port: [UInt16] = []

    @Option(name: .customLong("implicit-tls-port"),
            help: "Also treat this port as FTP control that is TLS from the first byte (repeatable; 990 always is).")
    var implicitTLSPort: [UInt16] = []

    @Flag(name: .customLong("no-detect"), help: "Do not recognise FTP on other ports by its first lines.")
    var noDetect = false

    @Flag(name: .customLong("show-passwords"), help: "Show PASS arguments instead of ****.")
    var showPasswords = false

    @Option(name: .long, help: "Language of reply meanings: en or zh.")
    var lang: Language = .english

    @Option(name: .customLong("max-line"), help: "Longest control line kept, in bytes; longer lines are cut and flagged.")
    var maxLine = 65_536

    @Option(name: .customLong("max-reply-lines"), help: "Most lines kept per reply; the rest are counted.")
    var maxReplyLines = 10_000

    @Option(name: .customLong("max-pending-commands"),
            help: "Commands kept waiting for replies per session; beyond it the oldest is let go and flagged.")
    var maxPendingCommands = 1_000

    @Option(name: .customLong("max-stream-buffer"), help: "Out-of-order bytes buffered per stream direction.")
    var maxStreamBuffer = 1 << 20

    @Option(name: .customLong("max-connections"), help: "Connections tracked at once; the oldest are evicted beyond it.")
    var maxConnections = 250_000

    @Option(name: .customLong("idle-timeout"), help: "Seconds after which an idle connection is closed and reported.")
    var idleTimeout = 900

    @Option(name: .customLong("hash"),
            help: "Digests of each transferred file: md5, sha1, sha256, or a comma-separated list (repeatable).")
    var hash: [String] = []

    @Option(name: .customLong("extract"),
            help: ArgumentHelp("Write each transferred file into this directory (created if missing).", valueName: "directory"))
    var extract: String?

    @Option(name: .customLong("tls-keylog"),
            help: ArgumentHelp("Decrypt FTPS control and data connections with the TLS secrets in this key log (the SSLKEYLOGFILE format, Wireshark's tls.keylog_file; a pcapng file's own secrets serve without it).", valueName: "file"))
    var tlsKeyLog: String?

    /// The digests `--hash` names.
    var transferHashes: TransferHashes {
        get throws {
            var kinds: TransferHashes = []
            for name in hash.flatMap({ $0.split(separator: ",") }) {
                switch name.trimmingCharacters(in: .whitespaces).lowercased() {
                case "md5": kinds.insert(.md5)
                case "sha1": kinds.insert(.sha1)
                case "sha256": kinds.insert(.sha256)
                default: throw ValidationError("--hash takes md5, sha1 or sha256, not '\(name)'")
                }
            }
            return kinds
        }
    }

    func validate() throws {
        _ = try transferHashes
        guard maxLine > 0, maxReplyLines > 1, maxPendingCommands > 0, maxStreamBuffer >= 0, maxConnections > 0, idleTimeout > 0 else {
            throw ValidationError("limits must be positive")
        }
        // Kept in nanoseconds beside capture times: a hundred years is far past any capture.
        guard idleTimeout <= Self.hundredYears else {
            throw ValidationError("--idle-timeout must be at most \(Self.hundredYears) seconds (100 years)")
        }
    }

    /// Before any packet is read: reads the `--tls-keylog` file, and makes the `--extract`
    /// directory if it is missing and checks that files can be made in it; one line on stderr
    /// and exit 3 when either cannot be done.
    func prepare() throws {
        _ = try keyLog()
        try prepareExtraction()
    }

    /// The `--tls-keylog` file's secrets; nil without the option. Read again during the run
    /// when a connection's secrets are not in it yet (a live capture's clients write them as
    /// they connect).
    func keyLog() throws -> TLSKeyLogSource? {
        guard let path = tlsKeyLog else { return nil }
        let source: TLSKeyLogSource
        do {
            source = try TLSKeyLogSource(path: path)
        } catch {
            guard case .unreadable(_, let reason) = error else { throw Exit.inputUnreadable }
            warn("cannot read --tls-keylog \(path): \(reason)")
            throw Exit.inputUnreadable
        }
        // Empty is fine for a live capture whose clients have not connected yet; a file of
        // something else is a mistake worth one line.
        if source.connections == 0, source.unreadableLines > 0 {
            warn("--tls-keylog \(path) holds no TLS secrets (lines like 'CLIENT_TRAFFIC_SECRET_0 <random> <secret>')")
            throw Exit.inputUnreadable
        }
        return source
    }

    private func prepareExtraction() throws {
        guard let directory = extract else { return }
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            warn("cannot create --extract directory \(directory): \(String(cString: strerror(errno)))")
            throw Exit.inputUnreadable
        }
        var info = stat()
        guard stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            warn("--extract \(directory) is not a directory")
            throw Exit.inputUnreadable
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            warn("cannot write into --extract directory \(directory): \(String(cString: strerror(errno)))")
            throw Exit.inputUnreadable
        }
    }

    /// A hundred years in seconds: the longest idle timeout and the longest live --duration,
    /// far past any capture and well inside nanoseconds in 64 bits.
    static let hundredYears = 3_153_600_000

    func configuration(prefix: String = "", commands: Bool = true) -> AnalyzerConfiguration {
        var c = AnalyzerConfiguration()
        c.emitCommands = commands
        c.controlPorts.formUnion(port)
        c.implicitTLSPorts.formUnion(implicitTLSPort)
        c.detect = !noDetect
        c.showPasswords = showPasswords
        c.maxLineLength = maxLine
        c.maxLinesPerReply = maxReplyLines
        c.maxPendingCommands = maxPendingCommands
        c.maxBufferedBytesPerStream = maxStreamBuffer
        c.maxConnections = maxConnections
        c.idleTimeout = Int64(idleTimeout) * 1_000_000_000
        c.sessionPrefix = prefix
        c.transferHashes = (try? transferHashes) ?? []
        c.extractDirectory = extract
        // Read again for each file's analyzer: `prepare()` reported a file that cannot be read.
        c.tlsKeyLog = try? keyLog()
        return c
    }
}
