import FTPSession
import PacketCapture
import TestSupport
import Testing

/// What was still waiting for a reply when a session ended: listed in the session record
/// always, flagged `command never answered` only where the server had its chance and the
/// capture would have shown the reply.
@Suite struct UnansweredCommandTests {
    private let never = SessionAnomaly.commandNeverAnswered.rawValue

    private func loggedIn() -> Conversation {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("USER a\r\n"); c.server("331 Password.\r\n")
        c.client("PASS b\r\n"); c.server("230 In.\r\n")
        return c
    }

    /// A server that took a command and closed (or reset) without a word: a hung or crashed server.
    @Test(arguments: ["fin", "rst"])
    func aCommandTheServerNeverAnswered(_ end: String) throws {
        var c = loggedIn()
        c.client("RETR big.iso\r\n")
        if end == "fin" { c.close() } else { c.reset(fromClient: false) }
        let run = try c.analyze("unanswered.pcap")
        let s = try #require(run.sessions.first)
        #expect(s.endReason == end)
        #expect(s.unanswered.map { "\($0.verb ?? "-") \($0.argument ?? "-")" } == ["RETR big.iso"])
        #expect(s.unanswered.first?.timestamp == run.commands.last?.timestamp)
        #expect(s.anomalies[never] == 1 && run.summary.anomalies[never] == 1)
    }

    /// A connection the server refused (its reset answering the SYN, as a closed port or a scan
    /// shows: Zeek's REJ), or never answered at all, owed nobody a greeting.
    @Test func aConnectionTheServerNeverAcceptedOwesNoGreeting() throws {
        var refused = Conversation()
        refused.handshake()
        refused.remove(at: 2); refused.remove(at: 1)  // the SYN alone
        refused.reset(fromClient: false)
        let r = try refused.analyze("refused.pcap")
        let s = try #require(r.sessions.first)
        #expect(s.endReason == "refused" && s.finalState == .closed)
        #expect(s.anomalies.isEmpty && r.summary.anomalies.isEmpty)

        var unanswered = Conversation()
        unanswered.handshake()
        unanswered.remove(at: 2); unanswered.remove(at: 1)
        let u = try unanswered.analyze("syn-only.pcap")
        #expect(u.sessions.first?.anomalies.isEmpty == true)

        // Accepted, then reset by the server before a greeting: that one was owed.
        var accepted = Conversation()
        accepted.handshake()
        accepted.reset(fromClient: false)
        let a = try #require(try accepted.analyze("reset-after-accept.pcap").sessions.first)
        #expect(a.endReason == "rst" && a.anomalies[never] == 1)
    }

    /// A client whose commands pile up unanswered (a server that stopped answering, or a
    /// capture without the server's side) keeps at most `maxPendingCommands` waiting: the
    /// oldest are let go, and the session says so once, whatever the number let go.
    @Test func commandsWaitingBeyondTheCapAreLetGoAndFlaggedOnce() throws {
        var c = loggedIn()
        c.client((1...6).map { "NOOP \($0)\r\n" }.joined())
        c.close()
        var config = AnalyzerConfiguration()
        config.maxPendingCommands = 4
        let run = try c.analyze("pending-cap.pcap", configuration: config)
        let s = try #require(run.sessions.first)
        let flag = SessionAnomaly.tooManyCommandsWaiting.rawValue
        #expect(s.anomalies[flag] == 1 && run.summary.anomalies[flag] == 1)
        #expect(s.unanswered.map { $0.argument ?? "-" } == ["3", "4", "5", "6"])
        #expect(s.anomalies[never] == 4)
        // Under the cap, nothing is let go.
        var roomy = AnalyzerConfiguration()
        roomy.maxPendingCommands = 6
        let whole = try #require(try c.analyze("pending-roomy.pcap", configuration: roomy).sessions.first)
        #expect(whole.anomalies[flag] == nil && whole.unanswered.count == 6)
    }

    /// A connection the server accepted and never greeted.
    @Test func aGreetingThatNeverCame() throws {
        var c = Conversation()
        c.handshake()
        c.reset(fromClient: true)
        let s = try #require(try c.analyze("nogreeting.pcap").sessions.first)
        #expect(s.unanswered.count == 1 && s.unanswered[0].verb == nil)
        #expect(s.anomalies[never] == 1)
    }

    /// Listed, not flagged: QUIT (clients close without waiting for 221), commands after the
    /// server said it was closing (421), a capture that ended first, and a command whose reply
    /// may have been in bytes the capture lost (also when they were the last before the close).
    @Test(arguments: ["quit", "421", "end of input", "server gap", "reply lost before the close"])
    func listedButNotFlagged(_ case_: String) throws {
        var c = loggedIn()
        switch case_ {
        case "quit":
            c.client("QUIT\r\n"); c.close()
        case "421":
            c.client("NOOP\r\nNOOP\r\n"); c.server("421 Shutting down.\r\n"); c.close()
        case "end of input":
            c.client("LIST\r\n")
        case "reply lost before the close":
            // The server's last reply lost, then the FINs: the client's acknowledgment of the
            // server's FIN says the hole was lost, and the session ends at the close.
            c.client("RETR x\r\n"); c.server("550 No such file.\r\n")
            let reply = c.packets.count - 1
            c.close()
            c.remove(at: reply)
        default:
            // The server's first line lost, a line of the reply's middle seen, then the
            // connection closed: the rest of the reply may have been lost too.
            c.client("HELP\r\n"); c.server("214-The following commands are recognized.\r\n")
            let first = c.packets.count - 1
            c.server(" USER PASS QUIT\r\n"); c.ack(fromClient: true)
            c.close()
            c.remove(at: first)
        }
        let run = try c.analyze("listed.pcap")
        let s = try #require(run.sessions.first)
        #expect(!s.unanswered.isEmpty, "\(case_)")
        #expect(s.anomalies[never] == nil, "\(case_): \(s.anomalies)")
        #expect(s.endReason == (case_ == "end of input" ? "end of input" : "fin"), "\(case_)")
    }

    /// A client that never gets answers: thousands waiting, a hundred listed, every one counted.
    @Test func aFloodIsListedInPartCountedWhole() throws {
        var c = loggedIn()
        c.client(String(repeating: "NOOP\r\n", count: 500), segment: 600)
        c.close()
        let s = try #require(try c.analyze("flood.pcap").sessions.first)
        #expect(s.unanswered.count == UnansweredCommand.listed)
        #expect(s.anomalies[never] == 500)
    }

    /// Answered sessions list nothing.
    @Test func answeredSessionsListNothing() throws {
        var c = loggedIn()
        c.client("QUIT\r\n"); c.server("221 Bye.\r\n"); c.close()
        let s = try #require(try c.analyze("answered.pcap").sessions.first)
        #expect(s.unanswered.isEmpty && s.anomalies.isEmpty)
    }
}
