import ArgumentParser

@main
struct FTPScope: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ftpscope",
        abstract: "Reads FTP traffic off the wire and explains every server reply.",
        discussion: """
        Exit codes: 0 success; 1 a --fail-on policy was triggered (report); 2 input damaged \
        but read (everything before the damage was analyzed); 3 input could not be read \
        (missing file, not a capture, unknown interface, no permission to capture); \
        64 usage error (bad option, bad filter).
        """,
        version: "0.1.0",
        subcommands: [Analyze.self, Live.self, Report.self, Codes.self, Interfaces.self],
        defaultSubcommand: nil)
}

/// Documented exit codes (README, `ftpscope --help`).
enum Exit {
    static let success = ExitCode(0)
    static let policyFailed = ExitCode(1)
    static let inputDamaged = ExitCode(2)
    static let inputUnreadable = ExitCode(3)
    static let usage = ExitCode(64)
}
