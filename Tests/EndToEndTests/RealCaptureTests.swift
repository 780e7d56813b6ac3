import Crypto
import Foundation
import FTPSession
import Reports
import TestSupport
import Testing

/// Every reply of every real capture is checked: record by record against the reviewed
/// expected output, and against the replies the client itself logged while recording.
@Suite struct RealCaptureTests {
    @Test func thereAreRealCapturesOfEveryServer() {
        let names = Fixtures.captureNames.joined(separator: " ")
        for server in ["vsftpd", "proftpd", "pureftpd", "pyftpdlib"] { #expect(names.contains(server)) }
    }

    @Test(arguments: Fixtures.captureNames)
    func outputMatchesTheExpectedRecords(_ name: String) throws {
        let expectedPath = Fixtures.companion(name, ".expected.jsonl")
        let expected = try String(contentsOfFile: expectedPath, encoding: .utf8).split(separator: "\n").map(String.init)
        let run = try AnalysisRun.of(Fixtures.path(name), configuration: Fixtures.configuration(name))
        var actual = run.jsonLines()
        actual.append(String(decoding: RecordEncoder().encodeSummary(run.summary, files: 1, warnings: []).dropLast(), as: UTF8.self))
        #expect(actual.count == expected.count)
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            #expect(a == e, "record \(i + 1) of \(name)")
        }
        // Recorded whole, but for the capture of one side of each connection: its other sides.
        #expect(run.summary.gaps == (name == "vsftpd-ftplib-oneway.pcap" ? 2 : 0))
        #expect(run.summary.ftpSessions > 0 && expected.count >= 2)
    }

    /// The text a terminal user reads, line for line against the reviewed file (the command
    /// line's own rendering: grouping, columns, escapes, the summary).
    @Test(arguments: Fixtures.captureNames)
    func textMatchesTheExpectedText(_ name: String) throws {
        let expectedPath = Fixtures.companion(name, ".expected.txt")
        let expected = try String(contentsOfFile: expectedPath, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let r = try Fixtures.run(["analyze", "--format", "text", "--commands"] + Fixtures.keyLogArguments(name) + [Fixtures.path(name)],
                                 environment: ["NO_COLOR": "1"])
        #expect(r.status == 0)
        let actual = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(actual.count == expected.count)
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            #expect(a == e, "line \(i + 1) of \(name)")
        }
        // A session block and the summary at least.
        #expect(expected.count >= 5)
    }

    @Test(arguments: Fixtures.captureNames)
    func everyReplyTheClientLoggedIsReportedInOrder(_ name: String) throws {
        let log = Fixtures.companion(name, ".client.log")
        // Lines starting with # say what the client saw that nobody on the wire can read.
        let clientLines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init).filter { !$0.isEmpty && !$0.hasPrefix("#") }
        let run = try AnalysisRun.of(Fixtures.path(name), configuration: Fixtures.configuration(name))
        let ours = run.replies.flatMap { r in r.reply.lines.map { (session: r.session.id, line: String(decoding: $0, as: UTF8.self)) } }
        // Clients log a subset (curl skips some, ftplib logs all); each must appear, in order
        // within its connection (lftp's pget reads several at once and logs them interleaved).
        var next: [String: Int] = [:]
        var missing: [String] = []
        for line in clientLines {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let k = ours.indices.first(where: { $0 >= next[ours[$0].session, default: 0]
                                                   && ours[$0].line.trimmingCharacters(in: .whitespaces) == trimmed }) {
                next[ours[k].session] = k + 1
            } else {
                missing.append(line)
            }
        }
        #expect(missing.isEmpty, "client saw replies ftpscope did not report in order: \(missing)")
        // Not a trivial oracle: the client logged at least half of the lines reported (ftplib
        // all but the 221 it never read after an abort, lftp in debug mode 60 %), or, where
        // everything was encrypted, nothing was reported either.
        if clientLines.isEmpty {
            #expect(ours.isEmpty)
        } else {
            #expect(clientLines.count >= 5 && 2 * clientLines.count >= ours.count)
        }
    }

    /// vsftpd with explicit TLS: what is clear before AUTH TLS is reported, and the records
    /// after it are counted as tshark counts them (`tshark -d tcp.port==2105,tls -T fields
    /// -e tls.record.length` on the control connection: 40).
    @Test func aTLSSessionCountsTheRecordsItCannotRead() throws {
        let run = try AnalysisRun.of(Fixtures.path("vsftpd-lftp-tls.pcap"))
        #expect(run.codes == [220, 211, 234])
        #expect(run.replies.last?.command == "AUTH" && run.replies.last?.state == .tls)
        let s = try #require(run.sessions.first)
        #expect(run.sessions.count == 1 && s.tls && s.tlsRecords == 40)
        // The HTML timeline says why it ends at the 234.
        let html = try Fixtures.run(["report", "--format", "html", Fixtures.path("vsftpd-lftp-tls.pcap")])
        #expect(html.stdout.contains("<tr><td colspan=\"7\">TLS: 40 records, not readable on the wire</td></tr>\n</table>"))
    }

    /// Implicit TLS on port 990 (curl's ftps://): a session from the first byte, every byte of
    /// it TLS records, counted as tshark counts them on the same connection (41), none parsed as
    /// a reply; clear-text FTP on that port would still be read (see ControlSession).
    @Test func anImplicitTLSSessionIsCountedNotParsed() throws {
        let run = try AnalysisRun.of(Fixtures.path("vsftpd-curl-implicit-tls.pcap"))
        let s = try #require(run.sessions.first)
        #expect(run.sessions.count == 1 && s.session.serverText == "127.0.0.1:990")
        #expect(s.tls && s.tlsRecords == 41 && s.replies == 0 && s.commands == 0 && s.anomalies.isEmpty)
        #expect(run.replies.isEmpty && run.commands.isEmpty)
        var off = AnalyzerConfiguration()
        off.implicitTLSPorts = []
        #expect(try AnalysisRun.of(Fixtures.path("vsftpd-curl-implicit-tls.pcap"), configuration: off).sessions.isEmpty,
                "without the port, TLS is not FTP to detection")
    }

    /// proftpd with MasqueradeAddress announces 198.51.100.20 in its 227; the client connects
    /// to the address it reached instead. The reply is flagged, and the data connection still
    /// belongs to the RETR, with all 27,019 bytes the 150 announced.
    @Test func aMasqueradedPassiveAddressIsFlaggedAndItsTransferStillMatched() throws {
        let run = try AnalysisRun.of(Fixtures.path("proftpd-curl-masquerade.pcap"))
        let pasv = try #require(run.replies.first { $0.reply.code == 227 })
        #expect(pasv.passive?.host == "198.51.100.20" && pasv.anomalies == ["passive address differs from server address"])
        let transfer = try #require(run.sessions.first?.transfers.first)
        #expect(run.summary.dataConnections == 1)
        #expect(transfer.command == "RETR" && transfer.bytes == 27019 && transfer.announcedSize == 27019 && transfer.outcome == "completed")
    }

    /// vsftpd with max_per_ip=1 refuses a second connection with a 421 greeting while the
    /// first session goes on: two sessions, the refused one a greeting and nothing else, shown
    /// as its greeting (it answered the connection), not as an unsolicited reply.
    @Test func aConnectionRefusedWithA421Greeting() throws {
        let run = try AnalysisRun.of(Fixtures.path("vsftpd-ftplib-limit.pcap"))
        #expect(run.sessions.count == 2)
        let refused = try #require(run.replies.first { $0.reply.code == 421 })
        #expect(refused.command == nil && refused.latencyMilliseconds != nil && refused.state == .closed && refused.anomalies.isEmpty)
        let text = try Fixtures.run(["analyze", "--format", "text", Fixtures.path("vsftpd-ftplib-limit.pcap")], environment: ["NO_COLOR": "1"])
        #expect(text.stdout.contains("  421  (greeting)  "))
    }

    /// ftplib's abort(): ABOR after Telnet IP and Synch (urgent data) during an active-mode
    /// download. pyftpdlib answers 426 then 226; ftplib reads only the 426 and sends NOOP and
    /// QUIT, so it takes the 226 for NOOP's reply and the 200 for QUIT's. The session pairs
    /// the 426 with the RETR it ended and the 226 with ABOR, as RFC 959 4.1.3 and 5.4 have it
    /// (426 is a RETR reply, ABOR's are 225 and 226), and each later reply with its own command.
    @Test func anAbortedDownloadEndsWith426AndABORGets226() throws {
        let run = try AnalysisRun.of(Fixtures.path("pyftpdlib-ftplib-abort.pcap"))
        #expect(run.codes == [220, 331, 230, 200, 200, 125, 426, 226, 200, 221])
        #expect(run.replies.map { $0.command ?? "-" } == ["-", "USER", "PASS", "TYPE", "PORT", "RETR", "RETR", "ABOR", "NOOP", "QUIT"])
        #expect(run.replies.allSatisfy { $0.anomalies.isEmpty })
        let transfer = try #require(run.sessions.first?.transfers.first)
        #expect(transfer.command == "RETR" && transfer.outcome == "aborted" && transfer.bytes > 0 && transfer.finalCode == 426)
    }

    /// What an analyst looks for, from vsftpd: the third refused login from one address is
    /// flagged, a bounce attempt (PORT and EPRT naming another host) is flagged on the command
    /// and on the server's refusal, and the idle timeout's 421 closes the session unasked.
    @Test func refusedLoginsABounceAttemptAndAnIdleTimeout() throws {
        let run = try AnalysisRun.of(Fixtures.path("vsftpd-ftplib-suspicious.pcap"))
        #expect(run.sessions.count == 4)
        let refused = run.replies.filter { $0.reply.code == 530 }
        #expect(refused.map { $0.anomalies } == [[], [], ["repeated login failures"]])
        let bounce = run.replies.filter { $0.reply.code == 500 }
        #expect(bounce.map { $0.command ?? "-" } == ["PORT", "EPRT"])
        #expect(bounce.allSatisfy { $0.anomalies == ["active address differs from client address"] })
        let timeout = try #require(run.replies.last)
        #expect(timeout.reply.code == 421 && timeout.command == nil && timeout.state == .closed && timeout.anomalies.isEmpty)
    }

    /// One side of each connection, as a tap on one fibre or a span port seeing one way of
    /// asymmetrically routed traffic records it. Client side only: the commands, no command
    /// blamed on the server for going unanswered nor sent before a banner the client had
    /// acknowledged, and one gap of the replies' bytes (the client log's count; the FIN may be
    /// among what the client's last acknowledgment took in, which nothing on this side tells
    /// from a byte). Server side only: every reply, each answering a command the capture lost,
    /// the login they tell of, and one gap of exactly the bytes the client sent. Each side's
    /// data connections are found although the capture lost what named their ports (the 227
    /// on the client's side, the PORT on the server's), and sized from the acknowledgments of
    /// the direction it lost.
    @Test func aCaptureOfOneSideOfEachConnection() throws {
        let log = try String(contentsOfFile: Fixtures.path("vsftpd-ftplib-oneway.client.log"), encoding: .utf8)
        func number(after marker: String) throws -> Int {
            let line = try #require(log.split(separator: "\n").first { $0.contains(marker) })
            return try #require(Int(line.components(separatedBy: marker)[1].prefix { $0.isNumber }))
        }
        let replyBytes = try number(after: "client side only: "), commandBytes = try number(after: "the client sent ")
        let run = try AnalysisRun.of(Fixtures.path("vsftpd-ftplib-oneway.pcap"))
        #expect(run.sessions.count == 2)
        let clientSide = try #require(run.sessions.first { $0.session.client.address.description == "127.0.0.4" })
        let serverSide = try #require(run.sessions.first { $0.session.client.address.description == "127.0.0.5" })

        let commands = run.commands.filter { $0.session == clientSide.session }
        #expect(commands.map { $0.command.verb ?? "-" } == ["USER", "PWD", "TYPE", "TYPE", "PASV", "RETR", "TYPE", "PORT", "STOR", "QUIT"])
        #expect(commands.allSatisfy { $0.anomalies.isEmpty })
        #expect(clientSide.replies == 0 && clientSide.anomalies == ["server side not captured": 1] && clientSide.unanswered.isEmpty)
        let lostReplies = run.gaps.filter { $0.session == clientSide.session }
        #expect(lostReplies.count == 1 && lostReplies.allSatisfy { $0.direction == .server })
        #expect(lostReplies.map(\.bytes) == [replyBytes] || lostReplies.map(\.bytes) == [replyBytes + 1])

        let replies = run.replies.filter { $0.session == serverSide.session }
        #expect(replies.map { $0.reply.code } == [220, 230, 257, 200, 200, 227, 150, 226, 200, 200, 150, 226, 221])
        #expect(replies.allSatisfy { $0.command == nil })
        #expect(replies.dropFirst().allSatisfy { $0.anomalies == ["command lost in gap"] })
        #expect(replies.map(\.state) == [.ready] + Array(repeating: .authenticated, count: 5) + [.transfer, .authenticated]
                + [.authenticated, .authenticated, .transfer, .authenticated, .closed])
        #expect(serverSide.login == "success" && serverSide.commands == 0)
        #expect(serverSide.anomalies == ["client side not captured": 1, "command lost in gap": 12])
        #expect(run.gaps.filter { $0.session == serverSide.session }.map { "\($0.direction) \($0.bytes)" } == ["client \(commandBytes)"])
        #expect(run.summary.anomalies["command never answered"] == nil)
        // The download the lost RETR asked for: its 150 begins it, the 226 ends it, the data
        // connection the 227 announced carried the file the client received. The upload the
        // lost STOR asked for went over the connection the server opened to the client's host
        // after a 200 (to the lost PORT): the server acknowledged every byte of it.
        let fileSize = try number(after: "a file of "), uploaded = try number(after: "an upload of ")
        #expect(serverSide.transfers.map { "\($0.command ?? "-") \($0.mode ?? "-") \($0.bytesToClient) \($0.bytesToServer) \($0.uncapturedBytes) \($0.outcome)" }
                == ["- passive \(fileSize) 0 0 completed", "- active 0 \(uploaded) \(uploaded) completed"])
        #expect(serverSide.transfers.map(\.sizeMatches) == [true, nil])
        #expect(serverSide.transfers.allSatisfy { $0.dataConnection?.server.port != nil } && run.summary.anomalies["226 without data connection"] == nil)
        // The client side's RETR went over the connection the client opened to the server's
        // host after PASV (the 227 that named its port not captured): the client acknowledged
        // the whole file. Its STOR went over the connection the PORT announced.
        #expect(clientSide.transfers.map { "\($0.command ?? "-") \($0.mode ?? "-") \($0.bytesToClient) \($0.bytesToServer) \($0.uncapturedBytes) \($0.outcome)" }
                == ["RETR passive \(fileSize) 0 \(fileSize) pending", "STOR active 0 \(uploaded) 0 pending"])
        #expect(run.summary.dataConnections == 4)
    }

    /// The one-sided recording moved to port 2121, where only detection finds FTP: each side
    /// alone is recognised by its own lines (the client's PWD, the server's 230 after its
    /// greeting), and every record is as on port 21.
    @Test func aCaptureOfOneSideOnAPortFoundByDetection() throws {
        let moved = try PcapRecords(contentsOf: Fixtures.path("vsftpd-ftplib-oneway.pcap")).movingPort(21, to: 2121)
        let path = CaptureFile.temporaryPath("oneway-2121.pcap")
        #expect(moved.write(to: path))
        let onPort21 = try Fixtures.run(["analyze", "--format", "jsonl", Fixtures.path("vsftpd-ftplib-oneway.pcap")])
        let detected = try Fixtures.run(["analyze", "--format", "jsonl", path])
        #expect(detected.status == 0 && detected.stdout.contains(":2121\""))
        #expect(detected.stdout.replacingOccurrences(of: ":2121\"", with: ":21\"") == onPort21.stdout)
    }

    /// One file three times from proftpd: in TYPE A (each LF sent as CRLF, more bytes than the
    /// 150 announced: not a short transfer), in MODE Z (deflated: its size, content type and
    /// digest are the inflated file's) and as it is; then lftp fetches it in MODE Z. The
    /// client log gives what each carried.
    @Test func transfersInTypeAAndModeZAreTheFileTheServerAnnounced() throws {
        let log = try String(contentsOfFile: Fixtures.path("proftpd-ftplib-modes.client.log"), encoding: .utf8)
        let counts = log.split(separator: "\n")[0].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        try #require(counts.count == 4)
        let (ascii, deflated, inflated, plain) = (counts[0], counts[1], counts[2], counts[3])
        var config = try Fixtures.configuration("proftpd-ftplib-modes.pcap")
        config.transferHashes = [.sha256]
        let run = try AnalysisRun.of(Fixtures.path("proftpd-ftplib-modes.pcap"), configuration: config)
        let transfers = try #require(run.sessions.first?.transfers)
        #expect(transfers.map { "\($0.representationType ?? "-") \($0.transferMode ?? "-") \($0.bytes) \($0.inflatedBytes ?? -1)" }
                == ["A - \(ascii) -1", "I Z \(deflated) \(inflated)", "I S \(plain) -1"])
        #expect(transfers.map(\.announcedSize) == [plain, plain, plain])
        #expect(transfers.map(\.sizeMatches) == [nil, true, true])
        #expect(transfers.allSatisfy { $0.mimeType == "text/plain" })
        #expect(transfers[1].digests?.sha256 != nil && transfers[1].digests == transfers[2].digests)
        // lftp, asking for MODE Z itself: the same file.
        let lftp = try #require(run.sessions.last?.transfers)
        #expect(lftp.map { "\($0.transferMode ?? "-") \($0.inflatedBytes ?? -1) \($0.sizeMatches == true)" } == ["Z \(plain) true"])
        #expect(lftp.first?.digests == transfers[2].digests)
        #expect(run.summary.anomalies.isEmpty)
        // A report says what the wire carried and what the file was.
        let markdown = try Fixtures.run(["report", "--format", "markdown", Fixtures.path("proftpd-ftplib-modes.pcap")])
        #expect(markdown.stdout.contains("RETR readme.txt \(deflated) B deflated (\(inflated) B inflated) completed"))
    }

    /// wget as scripts use it: passive and active downloads, a directory fetched recursively,
    /// a missing file, a download resumed at the 10,000 bytes already on disk (the 150
    /// announcing the whole file), and a login refused three times, as wget tries again.
    @Test func wgetsDownloadsAndItsRetries() throws {
        let run = try AnalysisRun.of(Fixtures.path("vsftpd-wget.pcap"))
        let transfers = run.sessions.flatMap(\.transfers)
        #expect(transfers.map { "\($0.command ?? "-") \($0.absolutePath ?? "-") \($0.mode ?? "-") \($0.bytes) \($0.outcome)" } == [
            "RETR /pub/hello.txt passive 27019 completed", "RETR /pub/hello.txt active 27019 completed",
            "LIST /pub/docs passive 245 completed", "RETR /pub/docs/a.txt passive 6 completed",
            "RETR /pub/docs/b.txt passive 12 completed", "RETR /pub/missing.txt passive 0 failed",
            "RETR /pub/hello.txt passive 17019 completed"])
        let resumed = try #require(transfers.last)
        #expect(resumed.restartOffset == 10000 && resumed.announcedSize == 27019 && resumed.sizeMatches == true)
        #expect(resumed.mimeType == nil, "the file's start was not sent")
        // SIZE and RETR of the missing file are both refused.
        #expect(run.replies.filter { $0.reply.code == 550 }.map(\.command) == ["SIZE", "RETR"])
        // The refused logins: each its own session, the third flagged.
        let refused = run.sessions.filter { $0.user == "alice" }
        #expect(refused.map(\.login) == ["failed", "failed", "failed"])
        #expect(refused.map { $0.anomalies["repeated login failures"] ?? 0 } == [0, 0, 1])
        #expect(run.summary.anomalies == ["repeated login failures": 1])
    }

    /// lftp's pget: one file in parts over control connections of their own, each part
    /// resumed at its offset and stopped with ABOR once in. vsftpd had sent each part and its
    /// 226 when the ABOR arrived, and answered it "225 No transfer to ABOR.": every part
    /// completed, and together they are the file (the client log gives its size).
    @Test func pgetsPartsCrossedByTheirABORsAreCompleted() throws {
        let log = try String(contentsOfFile: Fixtures.path("vsftpd-lftp-pget.client.log"), encoding: .utf8)
        let size = try #require(log.split(separator: "\n").last.flatMap { $0.split(separator: " ").compactMap { Int($0) }.first })
        let run = try AnalysisRun.of(Fixtures.path("vsftpd-lftp-pget.pcap"))
        let parts = run.sessions.flatMap(\.transfers)
        #expect(parts.count >= 2 && parts.allSatisfy { $0.command == "RETR" && $0.path == "pub/part.bin" })
        // Each ABOR answered 225 came after its part's own 226; that part completed.
        let late = run.replies.filter { $0.command == "ABOR" && $0.reply.code == 225 }
        #expect(!late.isEmpty)
        for abor in late {
            let t = try #require(run.sessions.first { $0.session.id == abor.session.id }?.transfers.first)
            #expect(t.outcome == "completed" && t.finalCode == 226, "\(abor.session.id)")
        }
        // The parts cover the file from its first byte to its last.
        var covered = 0
        for t in parts.sorted(by: { ($0.restartOffset ?? 0) < ($1.restartOffset ?? 0) }) {
            #expect((t.restartOffset ?? 0) <= covered)
            covered = max(covered, (t.restartOffset ?? 0) + t.bytes)
        }
        #expect(covered == size)
        #expect(run.summary.anomalies.isEmpty)
    }

    /// tnftp against pure-ftpd: EPSV and EPRT over IPv4, and no PWD ever: the directory is
    /// known only once pure-ftpd's reply to CWD names it (`250 OK. Current directory is
    /// /newdir`), so the upload and listing in it and the download after CDUP have their
    /// absolute names, those before have none. A local user's login reply names the home
    /// directory (`230 OK. Current directory is /home/ftpscopebob`): a file fetched by a
    /// relative name before any CWD has its absolute name.
    @Test func tnftpAgainstPureFTPdAndTheDirectoriesItsRepliesName() throws {
        let run = try AnalysisRun.of(Fixtures.path("pureftpd-tnftp.pcap"))
        #expect(!run.commands.contains { $0.command.verb == "PWD" } && run.commands.count > 40)
        let transfers = try #require(run.sessions.first?.transfers)
        #expect(transfers.map { "\($0.command ?? "-") \($0.absolutePath ?? "-") \($0.mode ?? "-") \($0.representationType ?? "-")" } == [
            "LIST - passive A", "RETR - passive I", "LIST - active A", "RETR - active I",
            "STOR /newdir/up.txt active I", "NLST /newdir active A", "RETR /readme.txt passive A"])
        #expect(transfers.allSatisfy { $0.outcome == "completed" && $0.bytes > 0 && $0.dataConnection != nil })
        // Active: pure-ftpd connects from a privileged port (20, once 2).
        #expect(transfers.filter { $0.mode == "active" }.allSatisfy { ($0.dataConnection?.server.port ?? 9999) < 1024 })
        // pure-ftpd's 150 gives kilobytes, not bytes: the size is SIZE's. In TYPE A it sends
        // more bytes than the file has (each LF as CRLF), which is not a short transfer.
        #expect(transfers.map(\.sizeMatches) == [nil, true, nil, true, nil, nil, nil])
        #expect(transfers.last.map { $0.bytes > $0.announcedSize ?? .max } == true)
        // An anonymous user may not rename, delete or remove a directory.
        #expect(run.replies.filter { $0.reply.code == 550 }.map(\.command) == ["RNFR", "DELE", "RMD"])
        #expect(run.summary.anomalies.keys.sorted() == ["code not in catalog"], "the 229s")
        let local = try #require(run.sessions.last)
        #expect(local.user == "ftpscopebob" && local.login == "success")
        #expect(local.transfers.map { "\($0.command ?? "-") \($0.path ?? "-") \($0.absolutePath ?? "-")" }
                == ["RETR docs/report.txt /home/ftpscopebob/docs/report.txt", "LIST - /home/ftpscopebob/docs"])
    }

    /// Mirrored traffic as AWS traffic mirroring delivers it: every packet inside VXLAN. The
    /// sessions, their transfers and their data connections are found by the inner addresses.
    @Test func aSessionMirroredInsideVXLAN() throws {
        let run = try AnalysisRun.of(Fixtures.path("vsftpd-curl-vxlan.pcap"))
        #expect(run.sessions.count == 2)
        #expect(run.sessions.allSatisfy { "\($0.session.server)" == "10.42.0.2:21" && "\($0.session.client)".hasPrefix("10.42.0.1:") })
        #expect(run.sessions.flatMap(\.transfers).map { "\($0.command ?? "-") \($0.outcome) \($0.bytes)" }.first == "RETR completed 27019")
        #expect(run.summary.dataConnections == 2)
        #expect(run.summary.gaps == 0)
        // The capture holds the tunnel's own chatter too (ARP, IPv6 neighbour discovery), not TCP.
        #expect(run.summary.notIP + run.summary.notTCP > 0)
    }

    /// A VXLAN tunnel with a 1,500-byte MTU over a 1,500-byte underlay: the STAT listing's
    /// segments leave as two IP fragments each, only the first with the TCP header. The
    /// listing arrives whole (before reassembly: four gaps, 8,688 bytes, and the reply cut).
    @Test func aTunnelThatFragmentsItsPackets() throws {
        let run = try AnalysisRun.of(Fixtures.path("vsftpd-ftplib-fragments.pcap"))
        #expect(run.summary.ipFragments == 12 && run.summary.ipDatagramsReassembled == 6)
        #expect(run.summary.ipFragmentsUnreassembled == 0 && run.summary.ipFragmentConflicts == 0 && run.summary.gaps == 0)
        let stats = run.replies.filter { $0.command == "STAT" }
        #expect(stats.count == 2)
        // 213-Status follows, the directory and its parent, 80 files, 213 End of status: 84 lines.
        #expect(stats.allSatisfy { $0.reply.lines.count == 84 && $0.anomalies.isEmpty })
        #expect(run.sessions.map { "\($0.session.server)" } == ["10.44.0.2:21", "10.46.0.2:21"])
        #expect(run.sessions.flatMap(\.transfers).map { "\($0.command ?? "-") \($0.outcome) \($0.bytes)" }
            == ["RETR completed 27019", "STOR completed 20000", "RETR completed 27019", "STOR completed 20000"])
    }

    /// Zeek's ftp.log names what each transfer carried; so do the session records, from the
    /// first bytes of each data connection: downloads of eight kinds and an uploaded program.
    @Test func whatEachTransferCarried() throws {
        let run = try AnalysisRun.of(Fixtures.path("vsftpd-ftplib-filetypes.pcap"))
        let transfers = try #require(run.sessions.first?.transfers)
        #expect(transfers.map { "\($0.command ?? "-") \($0.path ?? "-") \($0.mimeType ?? "-")" } == [
            "LIST - text/plain", "RETR hello.txt.gz application/x-gzip", "RETR tool application/x-sharedlib",
            "RETR image.png image/png", "RETR report.pdf application/pdf", "RETR bundle.tar application/x-tar",
            "RETR bundle.zip application/zip", "RETR index.html text/html",
            "STOR incoming/setup.exe application/x-dosexec"])
        #expect(transfers.allSatisfy { $0.outcome == "completed" && $0.bytes > 0 })
    }

    /// `--hash`: each file's MD5 and SHA-256 from the bytes on the wire, against the digests
    /// the recording took of the files on disk (the client log's `#` lines).
    @Test func filesHashAsTheirBytesOnDisk() throws {
        let log = try String(contentsOfFile: Fixtures.path("vsftpd-ftplib-filetypes.client.log"), encoding: .utf8)
        var onDisk: [String: String] = [:]  // "sha256 name" → hex
        for line in log.split(separator: "\n") where line.hasPrefix("# ") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.count == 4 { onDisk["\(f[1]) \(f[3])"] = String(f[2]) }
        }
        #expect(onDisk.count == 16)
        var config = AnalyzerConfiguration()
        config.transferHashes = [.md5, .sha256]
        let run = try AnalysisRun.of(Fixtures.path("vsftpd-ftplib-filetypes.pcap"), configuration: config)
        let files = try #require(run.sessions.first?.transfers).filter { $0.command != "LIST" }
        #expect(files.count == 8)
        for t in files {
            let name = String(t.path!.split(separator: "/").last!)
            #expect(t.digests?.md5 == onDisk["md5 \(name)"] && t.digests?.sha256 == onDisk["sha256 \(name)"], "\(name)")
            #expect(t.digests?.sha1 == nil)
        }
        // Not asked for, not computed.
        #expect(try AnalysisRun.of(Fixtures.path("vsftpd-ftplib-filetypes.pcap")).sessions.first?.transfers.allSatisfy { $0.digests == nil } == true)
    }

    /// tcpdump -s 256: the control lines fit, the file's one loopback segment is cut to 190
    /// bytes. The transfer is still 27,019 bytes and matches its 150; what the capture lacks
    /// of it is `missing_bytes`, against what the recording counted from the capture's frame
    /// headers (the client log's `#` line); no digest is made of a file the capture lacks.
    @Test func aTransferCutByTheSnapLengthCountsItsMissingBytes() throws {
        let log = try String(contentsOfFile: Fixtures.path("vsftpd-curl-snaplen.client.log"), encoding: .utf8)
        let counted = try #require(log.split(separator: "\n").first { $0.hasPrefix("# data payload bytes ") })
            .split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .punctuationCharacters)) }
        #expect(counted.count == 2)
        let (wire, kept) = (counted[0], counted[1])
        #expect(wire == 27019 && kept < wire)
        var config = AnalyzerConfiguration()
        config.transferHashes = [.sha256]
        let run = try AnalysisRun.of(Fixtures.path("vsftpd-curl-snaplen.pcap"), configuration: config)
        let t = try #require(run.sessions.first?.transfers.first)
        #expect(t.bytes == wire && t.sizeMatches == true && t.outcome == "completed")
        #expect(t.uncapturedBytes == wire - kept)
        #expect(t.digests == nil)
        #expect(run.gaps.isEmpty, "every control line fits in the snap length")
        let text = try Fixtures.run(["analyze", "--format", "text", Fixtures.path("vsftpd-curl-snaplen.pcap")])
        #expect(text.stdout.contains("27019 bytes (\(wire - kept) not captured)"), "\(text.stdout)")
        #expect(run.summary.missingDataBytes == wire - kept)
        #expect(text.stdout.contains("0 gaps (0 bytes), \(wire - kept) data bytes not captured, 0 evictions"))
        let report = try Fixtures.run(["report", Fixtures.path("vsftpd-curl-snaplen.pcap")])
        #expect(report.stdout.contains("RETR /pub/hello.txt 27019 B (\(wire - kept) B not captured) completed"), "\(report.stdout)")
        #expect(report.stdout.contains("10 replies, 0 gaps, \(wire - kept) data bytes not captured.\n"))
        // `--fail-on gap` is the capture losing bytes, of the data connection too.
        let gated = try Fixtures.run(["report", "--format", "junit", "--fail-on", "gap", Fixtures.path("vsftpd-curl-snaplen.pcap")])
        #expect(gated.status == 1)
        #expect(gated.stderr.contains("\(wire - kept) data bytes of RETR /pub/hello.txt not captured"), "\(gated.stderr)")
        #expect(gated.stdout.contains("name=\"capture completeness\"") && gated.stdout.contains("type=\"gap\""))
        let whole = try Fixtures.run(["report", "--fail-on", "gap", Fixtures.path("vsftpd-curl-passive.pcap")])
        #expect(whole.status == 0)
    }

    /// dumpcap on two interfaces (`-i lo -i any`): lo's packets Ethernet, any's Linux cooked,
    /// one session on each. libpcap (tcpdump, Zeek) stops at the second interface; every
    /// packet and reply of both sessions is here, each decoded as its interface says.
    @Test func aPcapngFromTwoInterfacesOfDifferentLinkTypes() throws {
        let run = try AnalysisRun.of(Fixtures.path("pyftpdlib-ftplib-interfaces.pcapng"))
        #expect(run.outcome?.damage == nil)
        #expect(run.summary.packets == 81 && run.summary.unsupportedLinkType == 0 && run.summary.malformed.isEmpty)
        #expect(run.sessions.map { $0.session.server.port } == [2108, 2109])
        #expect(run.sessions.map(\.replies) == [9, 12] && run.sessions.allSatisfy { $0.endReason == "fin" })
        #expect(run.sessions.flatMap(\.transfers).map { "\($0.command ?? "-") \($0.bytes) \($0.outcome)" }
            == ["RETR 27019 completed", "STOR 5000 completed", "LIST 135 completed"])
    }

    /// A firewall's log read as a capture (`tcpdump -i nflog:7`, iptables' NFLOG target on the
    /// control and passive ports): every packet is a netfilter log message whose payload
    /// attribute is the IP packet. The session, both transfers and their data connections are
    /// all there, as in a capture of the interface; before NFLOG was decoded, all 55 packets were
    /// counted as of an unsupported link type and nothing was reported.
    @Test func aSessionLoggedByTheFirewall() throws {
        let run = try AnalysisRun.of(Fixtures.path("pyftpdlib-ftplib-nflog.pcap"))
        #expect(run.summary.packets == 55 && run.summary.unsupportedLinkType == 0 && run.summary.malformed.isEmpty)
        #expect(run.summary.notIP == 0 && run.summary.gaps == 0 && run.summary.dataConnections == 2)
        #expect(run.sessions.count == 1 && run.sessions.first?.session.server.port == 2110 && run.sessions.first?.endReason == "fin")
        #expect(run.sessions.flatMap(\.transfers).map { "\($0.command ?? "-") \($0.bytes) \($0.outcome)" }
            == ["RETR 6 completed", "STOR 5000 completed"])
    }

    /// FTPS read with the secrets its clients logged: every kind of record protection curl and
    /// lftp negotiate opens — TLS 1.3's suites, TLS 1.2's AEAD ones, AES-CBC in TLS 1.0, 1.1 and
    /// 1.2 with encrypt-then-MAC (OpenSSL) and MAC-then-encrypt (GnuTLS), whose data connection
    /// resumes the control connection's session, which GnuTLS does not log again. Each session's
    /// replies are those its client logged (checked for all captures above), and the session goes
    /// through its states as in clear text; without the key log nothing after the 234 is read.
    @Test func ftpsReadWithTheClientsKeyLog() throws {
        let name = "vsftpd-curl-tls-keylog.pcap"
        let run = try AnalysisRun.of(Fixtures.path(name), configuration: Fixtures.configuration(name))
        #expect(run.sessions.map(\.tlsDecryption) == Array(repeating: "decrypted", count: 13))
        #expect(run.sessions.map { $0.session.server.port } == Array(repeating: 2106, count: 12) + [990])
        let read = run.sessions.filter { $0.tlsDecryption == "decrypted" }
        #expect(read.allSatisfy { $0.tls && $0.tlsDecrypted > 10 && $0.login == "success" && $0.finalState == .closed })
        #expect(read.allSatisfy { $0.transfers.count == 1 && $0.transfers[0].tls && $0.transfers[0].outcome == "completed" })
        #expect(read.count == 13 && read.map { $0.transfers[0].command } == Array(repeating: "RETR", count: 11) + ["LIST", "RETR"])
        // PROT P data connections opened too: each download is the file on disk, whose digest
        // the recording wrote into the client log, whatever the suite.
        let log = try String(contentsOfFile: Fixtures.companion(name, ".client.log"), encoding: .utf8)
        let onDisk = try #require(log.split(separator: "\n").first { $0.hasPrefix("# sha256 ") }).split(separator: " ")
        var hashing = try Fixtures.configuration(name)
        hashing.transferHashes = [.sha256]
        let downloads = try AnalysisRun.of(Fixtures.path(name), configuration: hashing).sessions.flatMap(\.transfers).filter { $0.command == "RETR" }
        #expect(downloads.count == 12)
        for t in downloads {
            #expect(t.tlsDecrypted && t.digests?.sha256 == String(onDisk[2]) && t.bytes == Int(onDisk[4]) && t.sizeMatches == true)
            #expect(t.mimeType == "text/plain")
        }
        #expect(run.sessions.allSatisfy { $0.unanswered.isEmpty && $0.anomalies.keys.sorted() == ["code not in catalog"] })
        // Inside TLS a reply's state is the session's, not `tls`: the 230 logs the user in.
        let logins = run.replies.filter { $0.reply.code == 230 }
        #expect(logins.count == 13 && logins.allSatisfy { $0.state == .authenticated && $0.command == "USER" })
        let retrieved = run.replies.filter { $0.reply.code == 226 }
        #expect(retrieved.count == 13 && retrieved.allSatisfy { $0.anomalies.isEmpty })

        let unread = try AnalysisRun.of(Fixtures.path(name))
        #expect(unread.sessions.map(\.replies) == Array(repeating: 2, count: 10) + [3, 3, 0])
        #expect(unread.sessions.allSatisfy { $0.tls && $0.tlsDecryption == nil && $0.tlsDecrypted == 0 && $0.transfers.isEmpty })
    }

    /// A pcapng file that carries its key log in a Decryption Secrets Block (what `editcap
    /// --inject-secrets tls,KEYLOG` writes to share an FTPS capture) reads as the capture with
    /// `--tls-keylog` does, split over analyzers or not; a key log given wins over it.
    @Test func aKeyLogCarriedInThePcapngItself() throws {
        let name = "vsftpd-curl-tls-keylog.pcap"
        let pcap = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path(name))))
        let keys = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try #require(Fixtures.keyLog(name)))))
        func le32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(v).littleEndian) { Array($0) } }
        func block(_ type: Int, _ body: [UInt8]) -> [UInt8] {
            let padded = body + [UInt8](repeating: 0, count: (4 - body.count % 4) % 4)
            return le32(type) + le32(padded.count + 12) + padded + le32(padded.count + 12)
        }
        var out = block(0x0A0D_0D0A, [0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8))
        out += block(10, le32(0x544C_534B) + le32(keys.count) + keys)
        out += block(1, [1, 0, 0, 0] + le32(262_144))  // Ethernet, microseconds
        var i = 24
        while i + 16 <= pcap.count {
            let word = { (at: Int) in Int(pcap[at]) | Int(pcap[at + 1]) << 8 | Int(pcap[at + 2]) << 16 | Int(pcap[at + 3]) << 24 }
            let units = UInt64(word(i)) * 1_000_000 + UInt64(word(i + 4)), caplen = word(i + 8), wire = word(i + 12)
            out += block(6, le32(0) + le32(Int(units >> 32)) + le32(Int(units & 0xFFFF_FFFF)) + le32(caplen) + le32(wire)
                         + pcap[(i + 16)..<(i + 16 + caplen)])
            i += 16 + caplen
        }
        let path = CaptureFile.temporaryPath("secrets.pcapng")
        try Data(out).write(to: URL(fileURLWithPath: path))
        let expected = try Fixtures.run(["analyze", "--format", "jsonl", "--tls-keylog", Fixtures.keyLog(name)!, Fixtures.path(name)])
        for shards in ["1", "2"] {
            let carried = try Fixtures.run(["analyze", "--format", "jsonl", "--shards", shards, path])
            #expect(carried.status == 0 && carried.stdout == expected.stdout, "\(shards) analyzers: \(carried.stderr)")
        }
        #expect(expected.stdout.components(separatedBy: "\"tls_decryption\":\"decrypted\"").count == 14)
        // Rotated, with the secrets in the first file only: merged, they serve every file.
        var parts = try PcapRecords(contentsOf: path).parts(of: 150)
        #expect(parts.count >= 4)
        for k in parts.indices.dropFirst() { parts[k].records[0].blocksBefore.removeAll { $0.starts(with: [10, 0, 0, 0]) } }
        let partPaths = parts.indices.map { CaptureFile.temporaryPath("secrets-part\($0).pcapng") }
        for (part, partPath) in zip(parts, partPaths) { #expect(part.write(to: partPath)) }
        for shards in ["1", "2"] {
            let merged = try Fixtures.run(["analyze", "--format", "jsonl", "--merge", "--shards", shards] + partPaths.reversed())
            #expect(merged.status == 0)
            #expect(merged.stdout.replacingOccurrences(of: "{\"type\":\"summary\",\"files\":\(parts.count),",
                                                       with: "{\"type\":\"summary\",\"files\":1,") == expected.stdout)
        }
        let apart = try Fixtures.run(["analyze", "--format", "jsonl", "--jobs", "1"] + partPaths)
        #expect(apart.stdout.components(separatedBy: "\"tls_decryption\":\"decrypted\"").count < 14)
        let other = CaptureFile.temporaryPath("other.keys")
        try "CLIENT_RANDOM \(String(repeating: "00", count: 32)) 01\n".write(toFile: other, atomically: true, encoding: .utf8)
        let given = try Fixtures.run(["analyze", "--format", "jsonl", "--tls-keylog", other, path])
        #expect(given.stdout.components(separatedBy: "\"tls_decryption\":\"no secrets in the key log\"").count == 14)
    }

    /// `--tls-keylog` that cannot be read, or holds no secret: one line, exit 3, before any packet.
    @Test func aKeyLogThatCannotBeUsedIsOneLine() throws {
        let capture = Fixtures.path("vsftpd-curl-tls-keylog.pcap")
        let missing = try Fixtures.run(["analyze", "--tls-keylog", "/nonexistent/keys", capture])
        #expect(missing.status == 3 && missing.stdout.isEmpty)
        #expect(missing.stderr == "ftpscope: cannot read --tls-keylog /nonexistent/keys: No such file or directory\n")
        let empty = CaptureFile.temporaryPath("empty.keys")
        try "# nothing here\nnot a key log\n".write(toFile: empty, atomically: true, encoding: .utf8)
        let none = try Fixtures.run(["report", "--format", "json", "--tls-keylog", empty, capture])
        #expect(none.status == 3 && none.stdout.isEmpty)
        #expect(none.stderr == "ftpscope: --tls-keylog \(empty) holds no TLS secrets (lines like 'CLIENT_TRAFFIC_SECRET_0 <random> <secret>')\n")
    }

    /// `--extract` on every real capture: a file for each data connection that carried bytes the capture shows,
    /// as long as the bytes the transfer counted in the direction that carried them, equal to
    /// what `--hash` digests whenever the transfer was seen whole, and nothing left behind.
    @Test(arguments: Fixtures.captureNames)
    func extractedFilesAgreeWithTheirTransfers(_ name: String) throws {
        let dir = CaptureFile.temporaryPath("extract")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        var config = try Fixtures.configuration(name)
        config.transferHashes = [.sha256]
        config.extractDirectory = dir
        let run = try AnalysisRun.of(Fixtures.path(name), configuration: config)
        let transfers = run.sessions.flatMap(\.transfers)
        let written = transfers.filter { $0.extractedPath != nil }
        // A TLS data connection the key log did not open carries records, not the file: nothing
        // is written of it. One it opened is written as its plaintext.
        let unread = transfers.filter { $0.tls && !$0.tlsDecrypted }
        // A transfer known only from the receiver's acknowledgments (one side captured) has
        // no byte to write.
        #expect(written.count == transfers.filter { $0.bytes > $0.uncapturedBytes }.count - unread.count)
        #expect(unread.allSatisfy { $0.digests == nil && $0.mimeType == nil && $0.sizeMatches == nil })
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).count == written.count)
        #expect(run.summary.filesExtracted == written.count && run.summary.extractionFailures.isEmpty)
        for t in written {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: t.extractedPath!))
            // In MODE Z the file is the inflated bytes.
            #expect(bytes.count == t.inflatedBytes ?? max(t.bytesToClient, t.bytesToServer), "\(t.command) \(t.path ?? "")")
            if t.extractedWhole == true, t.restartOffset == nil {
                #expect(t.digests?.sha256 == SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined())
            } else {
                #expect(t.digests == nil)
            }
        }
    }

    /// A capture switched on after the login: the session is known on port 21 without its
    /// greeting, its replies answer the commands the capture shows, and a command only a
    /// logged-in user may give, carried out, shows the session logged in.
    @Test func aCaptureStartedInTheMiddleOfASession() throws {
        let run = try AnalysisRun.of(Fixtures.path("vsftpd-lftp-midsession.pcap"))
        let s = try #require(run.sessions.first)
        // The login happened before the capture: its outcome is known, its user is not.
        #expect(run.sessions.count == 1 && s.startedMidstream && s.user == nil && s.login == "success")
        #expect(run.replies.first?.command == "TYPE" && run.replies.allSatisfy { $0.command != nil })
        #expect(run.replies.dropLast().allSatisfy { $0.state == .authenticated || $0.state == .transfer })
        #expect(s.transfers.map { "\($0.command ?? "-") \($0.outcome) \($0.bytes)" } == ["RETR completed 27019"])
        #expect(run.replies.allSatisfy { $0.anomalies.isEmpty })
    }

    @Test func truncatingARealCaptureAtEveryOffsetLosesOnlyWhatFollowsTheCut() throws {
        let name = "pyftpdlib-ftplib-ipv6.pcap"
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path(name))))
        let full = try AnalysisRun.of(Fixtures.path(name)).replyTexts
        let path = CaptureFile.temporaryPath("cut.pcap")
        var previous = 0
        // Every offset through the first replies, then every 7th to the end.
        let offsets = Array(24..<min(bytes.count, 6000)) + Array(stride(from: 6000, to: bytes.count, by: 7))
        for cut in offsets {
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes[0..<cut])))
            let run = try AnalysisRun.of(path)
            let got = run.replyTexts
            // Everything reported is what the full capture reports, in order (the last reply may be cut short).
            #expect(Array(got.dropLast()) == Array(full.prefix(max(0, got.count - 1))), "cut at \(cut)")
            #expect(got.count + 1 >= previous, "cut at \(cut) lost replies reported before the cut")
            previous = got.count
        }
        #expect(previous >= full.count - 1)
    }
}
