/// Where an FTP control session stands after a reply. Names are part of the JSON schema.
public enum SessionState: String, Sendable, CaseIterable {
    case connected      // TCP up, no banner yet
    case delayed        // 120: the server will be ready later
    case ready          // 220: waiting for a login
    case user           // 331: user name accepted, password needed
    case account        // 332: account needed
    case authenticated  // 230/232: logged in
    case tls            // AUTH TLS accepted: the control channel is encrypted
    case rename         // 350 after RNFR
    case restart        // 350 after REST
    case transfer       // 125/150 until the transfer's final reply
    case closed         // 221, 421, FIN or RST
}

/// Anomalies the session layer names. Raw values are what users see and filter on.
public enum SessionAnomaly: String, Sendable, CaseIterable {
    case passiveAddressDiffers = "passive address differs from server address"
    case activeAddressDiffers = "active address differs from client address"
    case invalid227Tuple = "invalid 227 tuple"
    case invalid229 = "invalid 229 reply"
    case invalid228 = "invalid 228 reply"
    case invalidPortCommand = "invalid PORT/EPRT/LPRT argument"
    case codeNotInCatalog = "code not in catalog"
    case commandBeforeBanner = "command before banner"
    case replyWithoutCommand = "reply without command"
    case repeatedLoginFailures = "repeated login failures"
    /// A server ran a client's command line for it (Zeek's FTP::Site_Exec_Success notice).
    case siteExecSucceeded = "SITE EXEC succeeded"
    case commandNeverAnswered = "command never answered"
    /// A positive reply the documents do not give the command it answers (a 230 to RETR, a 227
    /// to TYPE): RFC 959 section 5.4 and the extensions' command-reply sequences.
    case unexpectedReply = "reply unexpected for command"
    case transferWithoutDataConnection = "226 without data connection"
    case transferSizeMismatch = "transfer size differs from 150 announcement"
    case malformedCommand = "malformed command"
    case invalidProtectedPayload = "invalid protected reply payload"
    case unterminatedCommand = "unterminated command line"
    case commandLineTooLong = "command line too long"
    case sessionEvicted = "session evicted from full connection table"
    case streamBufferFull = "out-of-order buffer full"
    /// Paired past commands waiting when server bytes were lost: their replies were in the gap.
    case repliesLostInGap = "replies lost in gap"
    /// Answers a command in client bytes that were lost: shown without a command.
    case commandLostInGap = "command lost in gap"
    /// The command's line lost its end (and perhaps part of its argument) in a gap.
    case commandCutByGap = "command cut by gap"
    /// More commands waited for replies than `--max-pending-commands`: the oldest were let go.
    case tooManyCommandsWaiting = "too many commands waiting"
    /// A MODE Z transfer inflated past `Inflater.limit` (a deflate bomb, or a file of little
    /// but zeros): left uninflated, no size, digest or file of it.
    case inflationLimit = "deflated transfer past inflation limit"
    /// The capture holds none of the server's packets, though the client acknowledged its bytes.
    case serverSideNotCaptured = "server side not captured"
    /// The capture holds none of the client's packets, though the server acknowledged its bytes.
    case clientSideNotCaptured = "client side not captured"

    /// Anomalies only a command's record carries: what is wrong with the command line itself,
    /// or with when it came. A PORT's address is judged on the command and carried to its
    /// reply as well, so that a reply record shows it; these are not, and a report that reads
    /// replies alone would not see them.
    public static let ofCommandOnly: [SessionAnomaly] = [
        .commandBeforeBanner, .malformedCommand, .unterminatedCommand, .commandLineTooLong, .commandCutByGap,
    ]
}
