import Foundation
import TestSupport
import Testing

/// Reports produced by the real binary from a capture whose server is hostile.
@Suite struct ReportTests {
    /// A server that answers with markup, escapes and characters XML forbids.
    static let hostileCapture: String = {
        var c = Conversation()
        c.handshake()
        c.server("220 <script>document.title='pwned'</script> ready\r\n")
        c.client("USER x\r\n"); c.server("331 \u{1B}[2J\u{7} & \"quotes\" | pipes `code`\r\n")
        c.client("PASS y\r\n"); c.server("530 Login <b>incorrect</b>\r\n")
        c.client("SYST\r\n"); c.serverBytes(Array("215 bad \u{1}\u{1F} bytes ".utf8) + [0xFF, 0xFF, 0xC3] + Array("\r\n".utf8))
        c.close()
        let path = CaptureFile.temporaryPath("hostile-report.pcap")
        try! CaptureFile.write(packets: c.packets, linkType: .ethernet, to: path)
        return path
    }()

    @Test func junitValidatesAgainstTheSchemaWithHostileText() throws {
        let out = CaptureFile.temporaryPath("report.xml")
        let r = try Fixtures.run(["report", Self.hostileCapture, Fixtures.path("proftpd-ftplib.pcap"),
                                  "--format", "junit", "-o", out, "--fail-on", "5xx"])
        #expect(r.status == 1, "530 fails the 5xx policy")
        #expect(r.stderr.contains("policy: f1.s1: reply 530 (5xx)"))
        let xsd = Fixtures.root.appendingPathComponent("Tests/ReportsTests/Fixtures/junit.xsd").path
        let lint = Process()
        lint.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        lint.arguments = ["--noout", "--schema", xsd, out]
        try lint.run(); lint.waitUntilExit()
        #expect(lint.terminationStatus == 0, "xmllint --schema junit.xsd")
        let xml = try String(contentsOfFile: out, encoding: .utf8)
        #expect(xml.contains("&lt;script&gt;document.title=&apos;pwned&apos;&lt;/script&gt;"))
        #expect(xml.contains("<failure message=\"reply 530 (5xx)\" type=\"ftp\">"))
        #expect(!xml.unicodeScalars.contains { $0.value < 0x20 && ![0x09, 0x0A, 0x0D].contains($0.value) })
    }

    /// A CI job's report is read without the job's stderr: a capture cut short, a file that
    /// could not be read and a directory without captures are in every format's report, JUnit
    /// counts them as errors (schema-valid), and the run ends with exit 3 even though the
    /// policy passed, since the gate did not see everything it was given.
    @Test func reportsSayWhatWasWrongWithTheirInputs() throws {
        let whole = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("vsftpd-ftplib-suspicious.pcap")))
        let cut = CaptureFile.temporaryPath("cut-for-report.pcap")
        try whole.prefix(3000).write(to: URL(fileURLWithPath: cut))
        let empty = CaptureFile.temporaryPath("no-captures-here")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let inputs = [cut, "/nonexistent/x.pcap", empty, Fixtures.path("proftpd-ftplib.pcap")]
        let said = ["\(empty): no capture files in it", "\(cut): capture is truncated", "/nonexistent/x.pcap: no such file"]
        for format in ["markdown", "html", "json", "junit"] {
            let out = CaptureFile.temporaryPath("inputs-report.\(format)")
            let r = try Fixtures.run(["report", "--format", format, "-o", out, "--fail-on", "4xx"] + inputs)
            #expect(r.status == 3, "\(format): \(r.status)")
            let text = try String(contentsOfFile: out, encoding: .utf8)
            for warning in said { #expect(text.contains(warning), "\(format): \(warning)") }
            #expect(said.allSatisfy { r.stderr.contains($0) })
            switch format {
            case "markdown": #expect(text.contains("2 capture file(s)") && text.contains("## Warnings\n\n- \(empty): no capture files"))
            case "html": #expect(text.contains("<h2>Warnings</h2><ul class=\"anom\" id=\"warnings\"><li>\(empty): no capture files"))
            case "json":
                let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                let summary = try #require(doc["summary"] as? [String: Any])
                #expect((summary["warnings"] as? [String])?.count == 3 && summary["files"] as? Int == 2)
            default:
                #expect(text.contains("errors=\"3\">\n") && text.contains("<testsuite name=\"capture files\" tests=\"3\" failures=\"0\" errors=\"3\" skipped=\"0\" time=\"0\">"))
                #expect(text.components(separatedBy: "<error message=").count == 4)
                let xsd = Fixtures.root.appendingPathComponent("Tests/ReportsTests/Fixtures/junit.xsd").path
                let lint = try Fixtures.run(executable: "/usr/bin/xmllint", ["--noout", "--schema", xsd, out])
                #expect(lint.status == 0, "\(lint.stderr)")
            }
        }
        // Without the bad inputs, the same report passes its gate.
        let clean = try Fixtures.run(["report", "--fail-on", "4xx", Fixtures.path("proftpd-ftplib.pcap")])
        #expect(clean.status == 0 && !clean.stdout.contains("## Warnings"))
    }

    /// lftp without its sync mode pipelines (AUTH before the banner, five commands in one
    /// segment): each command is one test case with the replies the session paired it with,
    /// none left without a reply, and the gate on anomalies passes but for the command sent
    /// before the banner (`commandAndSessionAnomaliesAreListedAndGated`).
    @Test func junitOfAPipeliningClientHasACaseForEachCommand() throws {
        let r = try Fixtures.run(["report", "--format", "junit", "--fail-on", "anomaly", "--allow-anomaly", "command before banner",
                                  Fixtures.path("vsftpd-lftp-pipelined.pcap")])
        #expect(r.status == 0, "\(r.stderr)")
        let names = r.stdout.split(separator: "\n").compactMap { line -> String? in
            guard let a = line.range(of: " name=\""), line.contains("<testcase ") else { return nil }
            return String(line[a.upperBound...].prefix { $0 != "\"" })
        }
        #expect(names == ["(greeting or unsolicited) → 220", "AUTH TLS → 530", "USER anonymous → 230", "PWD → 257",
                          "PASV → 227", "LIST pub → 150, 226", "TYPE I → 200", "SIZE pub/hello.txt → 213",
                          "MDTM pub/hello.txt → 213", "PASV → 227", "RETR pub/hello.txt → 150, 226", "NOOP → 200",
                          "QUIT → 221"])
        #expect(r.stdout.contains("<testsuites name=\"ftpscope\" tests=\"13\" failures=\"0\""))
    }

    /// A server that took a command and closed without answering fails a CI job gating on
    /// anomalies: the session record is where it shows (no reply carries it), in the policy's
    /// list, in JUnit as a failing case of the session (beside each exchange's own "no reply"),
    /// and it can be allowed like any other.
    @Test func aCommandNeverAnsweredFailsTheGate() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("USER a\r\n"); c.server("331 Password.\r\n")
        c.client("PASS b\r\n"); c.server("230 In.\r\n")
        c.client("RETR big.iso\r\n"); c.client("NOOP\r\n")
        c.close()
        let path = CaptureFile.temporaryPath("hung.pcap")
        try CaptureFile.write([c], to: path)
        let r = try Fixtures.run(["report", "--format", "junit", "--fail-on", "anomaly", path])
        #expect(r.status == 1)
        #expect(r.stderr.split(separator: "\n").filter { $0.hasPrefix("ftpscope: policy: ") }
            == ["ftpscope: policy: s1: anomaly: command never answered ×2"], "\(r.stderr)")
        #expect(r.stdout.contains("<testcase classname=\"s1\" name=\"session\" time=\"0\">\n"
                                  + "      <failure message=\"anomaly: command never answered ×2\" type=\"anomaly\"/>"), "\(r.stdout)")
        #expect(r.stdout.contains("<testsuites name=\"ftpscope\" tests=\"6\" failures=\"3\""), "\(r.stdout)")
        let allowed = try Fixtures.run(["report", "--fail-on", "anomaly", "--allow-anomaly", "command never answered", path])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        let jsonl = try Fixtures.run(["analyze", "--format", "jsonl", path])
        #expect(jsonl.stdout.contains("\"anomalies\":{\"command never answered\":2},\"unanswered\":[{\"ts\":1763800000.008000,"
                                      + "\"command\":\"RETR\",\"argument\":\"big.iso\"},{\"ts\":1763800000.009000,\"command\":\"NOOP\",\"argument\":null}]"),
                "\(jsonl.stdout)")
    }

    /// Gating on anomalies by name: curl's EPSV gets 229, which the catalog's sources do not
    /// list, so `--fail-on anomaly` fails every such job unless that anomaly is allowed; a
    /// named anomaly fails whether allowed or not; an unknown name is a usage error.
    @Test func anomaliesCanBeAllowedOrNamed() throws {
        let epsv = Fixtures.path("vsftpd-curl-passive.pcap"), bounce = Fixtures.path("vsftpd-ftplib-suspicious.pcap")
        let any = try Fixtures.run(["report", "--fail-on", "anomaly", epsv])
        #expect(any.status == 1 && any.stderr.contains("anomaly: code not in catalog"))
        let allowed = try Fixtures.run(["report", "--fail-on", "anomaly", "--allow-anomaly", "Code Not In Catalog", epsv])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stdout.contains("**Policy: passed.**"))
        // The other anomalies still fail; each once, however many rules name it.
        let others = try Fixtures.run(["report", "--fail-on", "anomaly,anomaly:repeated login failures",
                                       "--allow-anomaly", "code not in catalog", bounce])
        #expect(others.status == 1)
        #expect(others.stderr.split(separator: "\n").filter { $0.hasPrefix("ftpscope: policy: ") }
            == ["ftpscope: policy: s3: anomaly: repeated login failures",
                "ftpscope: policy: s4: anomaly: active address differs from client address",
                "ftpscope: policy: s4: anomaly: active address differs from client address"])
        let named = try Fixtures.run(["report", "--fail-on", "anomaly:repeated login failures",
                                      "--allow-anomaly", "repeated login failures", bounce])
        #expect(named.status == 1 && named.stderr.contains("s3: anomaly: repeated login failures"))
        #expect(!named.stderr.contains("active address"))
        for bad in [["--fail-on", "anomaly:no such thing"], ["--fail-on", "anomaly", "--allow-anomaly", "nope"]] {
            let r = try Fixtures.run(["report"] + bad + [epsv])
            #expect(r.status == 64 && r.stderr.contains("unknown anomaly") && r.stderr.contains("'code not in catalog'"),
                    "\(bad): \(r.stderr)")
        }
    }

    /// Anomalies only a command's record carries (a malformed line, one too long, one a gap
    /// or the end cut, a command before the banner) and those only a session's record carries
    /// are listed by every report and gated on like those of replies: before, a report read
    /// replies alone, said "None." and passed `--fail-on anomaly` where the session record
    /// counted them. lftp sends its first commands before vsftpd's banner (a real recording).
    @Test func commandAndSessionAnomaliesAreListedAndGated() throws {
        let lftp = Fixtures.path("vsftpd-lftp-pipelined.pcap")
        let gated = try Fixtures.run(["report", "--fail-on", "anomaly", lftp])
        #expect(gated.status == 1, "\(gated.stderr)")
        #expect(gated.stderr.contains("ftpscope: policy: s1: anomaly: command before banner"))
        #expect(gated.stdout.contains("| s1 | command before banner | command | AUTH TLS |"), "\(gated.stdout)")
        #expect(!gated.stdout.contains("## Anomalies\n\nNone."))
        let allowed = try Fixtures.run(["report", "--fail-on", "anomaly", "--allow-anomaly", "command before banner", lftp])
        #expect(allowed.status == 0 && allowed.stdout.contains("**Policy: passed.**"), "\(allowed.stderr)")

        var c = Conversation()
        c.handshake()
        c.server("220 ready\r\n")
        c.client("\u{1B}[31m\u{7}\r\n"); c.server("500 what?\r\n")
        c.client("USER " + String(repeating: "a", count: 500) + "\r\n"); c.server("331 p\r\n")
        c.client("PASS secret\r\n"); c.server("230 in\r\n")
        c.client("NOOP\r\n")
        c.client("QUIT")
        c.close()
        let path = CaptureFile.temporaryPath("command-anomalies.pcap")
        try CaptureFile.write([c], to: path)
        let expected = ["s1: anomaly: malformed command", "s1: anomaly: command line too long",
                        "s1: anomaly: unterminated command line", "s1: anomaly: command never answered"]
        for format in ["markdown", "json", "junit", "html"] {
            let out = CaptureFile.temporaryPath("command-anomalies.\(format)")
            let r = try Fixtures.run(["report", "--format", format, "-o", out, "--max-line", "100", "--fail-on", "anomaly", path])
            #expect(r.status == 1, "\(format): \(r.status) \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").filter { $0.hasPrefix("ftpscope: policy: ") }.map(String.init)
                == expected.map { "ftpscope: policy: " + $0 }, "\(format): \(r.stderr)")
            let text = try String(contentsOfFile: out, encoding: .utf8)
            #expect(!text.contains("\u{1B}") && !text.contains("\u{7}"), "\(format): escape bytes from the wire")
            switch format {
            case "markdown":
                #expect(text.contains("| malformed command | command | \\x1b\\[31m\\x07 |"), "\(text)")
                #expect(text.contains("| command line too long | command | USER " + String(repeating: "a", count: 95) + " |"))
                #expect(text.contains("| unterminated command line | command | QUIT |"))
                #expect(text.contains("| command never answered | session |  |"))
                #expect(text.contains("**Policy: FAILED** (4 violations)"), "\(text)")
            case "json":
                let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                let listed = try #require(json["anomalies"] as? [[String: Any]])
                #expect(listed.map { $0["anomaly"] as? String } == ["malformed command", "command line too long",
                                                                     "unterminated command line", "command never answered"])
                #expect(listed[2]["command"] as? String == "QUIT" && listed[2]["reply"] == nil)
                #expect(listed[3]["command"] == nil && listed[3]["reply"] == nil)
            case "junit":
                #expect(text.contains("name=\"QUIT → \" time=\"0\">\n      <failure message=\"anomaly: unterminated command line; no reply\""),
                        "\(text)")
                // The three commands, NOOP without a reply, and the session's own test case.
                #expect(text.contains("tests=\"7\" failures=\"5\""), "\(text)")
            default:
                #expect(text.contains("<td colspan=\"4\">(no reply)</td><td class=\"anom\">unterminated command line</td>"),
                        "\(text)")
                #expect(text.contains("<td class=\"anom\">command line too long</td>"))
            }
        }
    }

    /// An anomaly the session's record counts beyond what its replies carried is the
    /// session's own, whichever it is: here the 234 to AUTH TLS was lost and the TLS handshake
    /// that followed tells it was given ("replies lost in gap", carried by no reply), which a
    /// fixed list of session-only anomalies did not gate.
    @Test func anomaliesBeyondWhatRepliesCarriedAreTheSessions() throws {
        var c = Conversation()
        c.handshake(); c.server("220 Ready.\r\n")
        c.client("AUTH TLS\r\n")
        let lost = c.packets.count
        c.server("234 Go.\r\n")
        c.clientBytes([22, 3, 1, 0, 5, 1, 2, 3, 4, 5])
        c.serverBytes([22, 3, 3, 0, 4, 9, 9, 9, 9])
        c.close()
        c.remove(at: lost)
        let path = CaptureFile.temporaryPath("lost-234.pcap")
        try CaptureFile.write([c], to: path)
        let jsonl = try Fixtures.run(["analyze", "--format", "jsonl", path])
        #expect(jsonl.stdout.contains("\"anomalies\":{\"replies lost in gap\":1}"), "\(jsonl.stdout)")
        #expect(!jsonl.stdout.contains("\"anomalies\":[\"replies lost in gap\""), "no reply carries it")
        let r = try Fixtures.run(["report", "--fail-on", "anomaly", path])
        #expect(r.status == 1 && r.stderr.contains("policy: s1: anomaly: replies lost in gap"), "\(r.stderr)")
        #expect(r.stdout.contains("| s1 | replies lost in gap | session |  |"), "\(r.stdout)")
        let junit = try Fixtures.run(["report", "--format", "junit", "--fail-on", "anomaly:replies lost in gap", path])
        #expect(junit.stdout.contains("name=\"session\" time=\"0\">\n      <failure message=\"anomaly: replies lost in gap\""),
                "\(junit.stdout)")
        let html = try Fixtures.run(["report", "--format", "html", path])
        #expect(html.stdout.contains("<tr><td colspan=\"6\">session</td><td class=\"anom\">replies lost in gap</td></tr>\n</table>"),
                "\(html.stdout)")
    }

    @Test func markdownNeutralisesMarkupAndGatesOnCodes() throws {
        let ok = try Fixtures.run(["report", Fixtures.path("vsftpd-lftp-active.pcap"), "--fail-on", "4xx", "--fail-on", "gap"])
        #expect(ok.status == 0)
        #expect(ok.stdout.contains("**Policy: passed.**"))
        let bad = try Fixtures.run(["report", Self.hostileCapture, "--fail-on", "530"])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains(#"\x1b\[2J\x07 & "quotes" \| pipes \`code\`"#))
        #expect(!bad.stdout.contains("<script>"))
        let slow = try Fixtures.run(["report", Fixtures.path("pyftpdlib-ftplib-ipv6.pcap"), "--max-latency-ms", "1000"])
        #expect(slow.status == 1 && slow.stderr.contains("latency 300"), "the failed PASS took 3 s")
        // The rule before the capture, as people type it: the capture is not taken for a rule.
        let before = try Fixtures.run(["report", "--fail-on", "530", Self.hostileCapture])
        #expect(before.status == 1 && before.stdout == bad.stdout)
        let usage = try Fixtures.run(["report", Self.hostileCapture, "--fail-on", "sometimes"])
        #expect(usage.status == 64)
        let jobs = try Fixtures.run(["report", Self.hostileCapture, "--jobs=-5"])
        #expect(jobs.status == 64 && jobs.stderr.contains("--jobs takes a count"), "\(jobs.stderr)")
        for threshold in ["nan", "-5"] {
            let r = try Fixtures.run(["report", Self.hostileCapture, "--max-latency-ms=\(threshold)"])
            #expect(r.status == 64 && r.stderr.contains("--max-latency-ms must be"), "\(threshold): \(r.status) \(r.stderr)")
        }
    }

    /// The table of sessions names each transfer's file and what it carried, in both formats.
    @Test func reportsSayWhatEachTransferCarried() throws {
        let capture = Fixtures.path("vsftpd-ftplib-filetypes.pcap")
        for format in ["markdown", "html"] {
            let r = try Fixtures.run(["report", "--format", format, capture])
            #expect(r.status == 0)
            #expect(r.stdout.contains("RETR tool 35664 B completed application/x-sharedlib; RETR image.png 221 B completed image/png"), "\(format)")
            #expect(r.stdout.contains("STOR incoming/setup.exe 512 B completed application/x-dosexec"), "\(format)")
        }
        // With --hash and --extract, each file's SHA-256 (as the recording took it from disk) and where it went.
        let log = try String(contentsOfFile: Fixtures.path("vsftpd-ftplib-filetypes.client.log"), encoding: .utf8)
        let sha = try #require(log.split(separator: "\n").first { $0.hasPrefix("# sha256 ") && $0.hasSuffix(" tool") })
            .split(separator: " ")[2]
        let dir = CaptureFile.temporaryPath("report-files")
        let r = try Fixtures.run(["report", "--format", "markdown", "--hash", "sha256", "--extract", dir, capture])
        #expect(r.status == 0, "\(r.stderr)")
        let saved = try #require(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasSuffix("-RETR-tool") })
        // Markdown escapes the underscores of the name.
        let shown = "\(dir)/\(saved)".replacingOccurrences(of: "_", with: "\\_")
        #expect(r.stdout.contains("RETR tool 35664 B completed application/x-sharedlib sha256 \(sha) saved \(shown);"), "\(r.stdout)")
    }

    /// A report that cannot be written all the way (a full disk) fails with one line, not silently.
    @Test func unwritableReportFails() throws {
        let r = try Fixtures.run(["report", Fixtures.path("proftpd-ftplib.pcap"), "--format", "junit", "-o", "/dev/full"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("/dev/full: cannot write report"))
    }

    @Test func parallelReportIsTheSameReport() throws {
        let one = try Fixtures.run(["report", "--jobs", "1", Fixtures.captures.path, "--format", "json"])
        let two = try Fixtures.run(["report", "--jobs", "2", Fixtures.captures.path, "--format", "json"])
        #expect(one.status == 0 && one.stdout == two.stdout)
        #expect(one.stdout.contains("\"session\":\"f5.s1\""))
    }

    /// One file's JUnit or HTML report fills its collector on a second thread: the same report
    /// as on one thread, policy failures and hostile text included.
    @Test func collectingOnASecondThreadIsTheSameReport() throws {
        for file in Fixtures.captureNames.map(Fixtures.path) + [Self.hostileCapture] {
            for format in ["junit", "html"] {
                let args = ["report", file, "--format", format, "--fail-on", "5xx,anomaly,gap"]
                let one = try Fixtures.run(args + ["--jobs", "1"])
                let two = try Fixtures.run(args)
                #expect(one.status == two.status && one.stdout == two.stdout && one.stderr == two.stderr, "\(file) \(format)")
                #expect(one.stdout.contains(format == "junit" ? "<testsuite " : "<tr><td>"))
            }
        }
    }

    @Test func jsonReportIsOneDocument() throws {
        let r = try Fixtures.run(["report", Fixtures.path("pureftpd-curl.pcap"), "--format", "json"])
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect((doc?["sessions"] as? [Any])?.count == 3)
        #expect((doc?["policy"] as? [String: Any])?["failed"] as? Bool == false)
        #expect((doc?["codes"] as? [String: Int])?["229"] == 3)
    }

    /// The HTML report rendered by real headless Chromium: the injected script must not run,
    /// and the page must show the reply text as text.
    @Test func htmlRendersInARealBrowserWithWireTextInert() throws {
        let out = CaptureFile.temporaryPath("report.html")
        let r = try Fixtures.run(["report", Self.hostileCapture, Fixtures.path("vsftpd-lftp-active.pcap"), "--format", "html", "-o", out])
        #expect(r.status == 0)
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let browser = try #require(chromium, "scripts/setup installs chromium")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://" + out]
        let pipe = Pipe(); p.standardOutput = pipe; p.standardError = FileHandle.nullDevice
        try p.run()
        let dom = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(dom.contains("<title>ftpscope report</title>"), "the injected script did not retitle the page")
        #expect(dom.contains("220 &lt;script&gt;document.title='pwned'&lt;/script&gt; ready"))
        #expect(dom.contains("530 Login &lt;b&gt;incorrect&lt;/b&gt;"))
        #expect(dom.contains("id=\"chart\""))
        #expect(dom.contains("f2.s1"), "the second file's session is listed")
        #expect(!dom.contains("<b>incorrect</b>"))
    }
}
