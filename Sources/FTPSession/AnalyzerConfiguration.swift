import PacketCapture
import TLSDecryption

/// Every knob that bounds what wire bytes can make ftpscope hold, plus what to report.
public struct AnalyzerConfiguration: Sendable {
    /// Ports that always mean an FTP control connection.
    public var controlPorts: Set<UInt16> = [21]
    /// Ports of FTP control connections that are TLS from their first byte (implicit FTPS,
    /// 990): counted as TLS records, never parsed as replies, unless the server speaks clear
    /// text from its first byte.
    public var implicitTLSPorts: Set<UInt16> = [990]
    /// Secrets of TLS connections (`--tls-keylog`): control channels after AUTH TLS, or on an
    /// implicit-TLS port, whose secrets it holds are decrypted and their replies read.
    public var tlsKeyLog: TLSKeyLogSource?
    /// Recognise FTP on any port by how its first lines look.
    public var detect = true
    public var showPasswords = false
    /// Emit a record per client command. Off, commands are still parsed, paired and counted,
    /// but no event is built for them (most of a control-heavy capture's events).
    public var emitCommands = true
    /// Longest control line kept; longer ones are cut and flagged.
    public var maxLineLength = 65_536
    /// Most lines kept per reply; the rest are counted.
    public var maxLinesPerReply = 10_000
    /// Commands kept waiting for their replies per session; beyond it the oldest is let go
    /// (`too many commands waiting`, Zeek's FTP_too_many_pending_commands).
    public var maxPendingCommands = 1_000
    /// Out-of-order bytes buffered per stream direction before a hole is declared lost.
    public var maxBufferedBytesPerStream = 1 << 20
    /// Connections tracked at once (FTP or not); beyond it the oldest go.
    public var maxConnections = 250_000
    /// A connection idle this long is closed and reported.
    public var idleTimeout: Int64 = 900 * 1_000_000_000
    /// Prefix of session ids, so several files give distinct ids.
    public var sessionPrefix = ""
    /// 530s from one client address that make a brute-force hint.
    public var loginFailureThreshold = 3
    /// Bytes a not-yet-classified connection may send before detection gives up on it.
    public var detectionWindow = 16_384
    /// Idle sweeps are run by the caller (`expireIdle(now:)`) instead of by the analyzer's own
    /// clock: analyzers that each see part of a capture must sweep at the same instants.
    public var externalSweeps = false
    /// Put IP fragments together. Off where the driver does it before the analyzer (a split
    /// capture's reader), which alone sees every fragment of a datagram.
    public var reassemblesFragments = true
    /// Digests of transferred files to compute (`--hash`); none by default, since hashing
    /// reads every byte of every transfer.
    public var transferHashes: TransferHashes = []
    /// A directory to write each transferred file into (`--extract`); nil writes none.
    public var extractDirectory: String?

    public init() {}
}

extension AnalyzerConfiguration {
    /// This configuration for `source`: without `--tls-keylog`, the key log the capture file
    /// carries itself (pcapng Decryption Secrets Blocks), if any. A key log given wins.
    public func withSecrets(of source: some PacketSource) -> AnalyzerConfiguration {
        guard tlsKeyLog == nil, let text = source.embeddedTLSKeyLog() else { return self }
        let log = TLSKeyLog(text: text)
        guard log.connections > 0 else { return self }
        var c = self
        c.tlsKeyLog = TLSKeyLogSource(log)
        return c
    }
}
