import Foundation
import FTPSession
import TLSDecryption

/// Locates the repository's Captures/ folder and the built ftpscope binary.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let captures = root.appendingPathComponent("Captures")

    static var captureNames: [String] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: captures.path)) ?? []
        return all.filter { $0.hasSuffix(".pcap") || $0.hasSuffix(".pcapng") }.sorted()
    }

    /// Real captures rotated into a directory of files (`tcpdump -G`), read with `--merge`.
    static var rotatedCaptureNames: [String] {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: captures.path)) ?? []
        return all.filter { var dir: ObjCBool = false
            return FileManager.default.fileExists(atPath: path($0), isDirectory: &dir) && dir.boolValue
        }.sorted()
    }

    static func path(_ name: String) -> String { captures.appendingPathComponent(name).path }

    /// The file beside capture `name` (`NAME.pcap` or `NAME.pcapng`) with `suffix` in place of
    /// the extension: `.client.log`, `.expected.jsonl`, `.expected.txt`.
    static func companion(_ name: String, _ suffix: String) -> String {
        path((name.hasSuffix(".pcapng") ? String(name.dropLast(7)) : name.hasSuffix(".pcap") ? String(name.dropLast(5)) : name) + suffix)
    }

    /// A capture's TLS key log (`NAME.keys`, what the clients wrote through SSLKEYLOGFILE while
    /// it was recorded), and the options and configuration that read it; none for the others.
    static func keyLog(_ name: String) -> String? {
        let path = companion(name, ".keys")
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    static func keyLogArguments(_ name: String) -> [String] { keyLog(name).map { ["--tls-keylog", $0] } ?? [] }

    static func configuration(_ name: String) throws -> AnalyzerConfiguration {
        var c = AnalyzerConfiguration()
        if let path = keyLog(name) { c.tlsKeyLog = try TLSKeyLogSource(path: path) }
        return c
    }

    /// The ftpscope binary built next to the test bundle (the test target depends on it).
    static var binary: String {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL.deletingLastPathComponent(),
            root.appendingPathComponent(".build/debug"),
        ]
        for dir in candidates {
            var d = dir
            for _ in 0..<4 {
                let p = d.appendingPathComponent("ftpscope").path
                if FileManager.default.isExecutableFile(atPath: p) { return p }
                d = d.deletingLastPathComponent()
            }
        }
        return root.appendingPathComponent(".build/debug/ftpscope").path
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ args: [String], environment: [String: String] = [:]) throws -> Result {
        try run(executable: binary, args, environment: environment)
    }

    /// Runs any program to completion, collecting its output.
    static func run(executable: String, _ args: [String], environment: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}
