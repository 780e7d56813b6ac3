@testable import FTPProtocol
import Testing

/// Feeds a byte stream through framer and parser in the given chunk sizes.
func parse(_ bytes: [UInt8], chunks: [Int] = [], midstream: Bool = false, maxLine: Int = 65536, maxLines: Int = 10_000,
           finish: Bool = true) -> [Reply] {
    var framer = LineFramer(maxLineLength: maxLine)
    var parser = ReplyParser(startMidstream: midstream, maxLinesPerReply: maxLines)
    var out: [Reply] = []
    var i = 0, k = 0
    while i < bytes.count {
        let n = chunks.isEmpty ? bytes.count : max(1, chunks[k % chunks.count])
        let piece = Array(bytes[i..<min(bytes.count, i + n)])
        piece.withUnsafeBytes { raw in framer.feed(raw) { line in parser.feed(line) { out.append($0) } } }
        i += n; k += 1
    }
    if finish {
        framer.finish { line in parser.feed(line) { out.append($0) } }
        parser.finish { out.append($0) }
    }
    return out
}

func parse(_ s: String, chunks: [Int] = [], midstream: Bool = false) -> [Reply] { parse(Array(s.utf8), chunks: chunks, midstream: midstream) }
func texts(_ r: Reply) -> [String] { r.lines.map { String(decoding: $0, as: UTF8.self) } }

/// A framer and parser fed pieces with gaps between them, as a session feeds them.
struct GapFeeder {
    var framer = LineFramer()
    var parser = ReplyParser()
    var out: [Reply] = []

    mutating func feed(_ s: String) {
        Array(s.utf8).withUnsafeBytes { raw in framer.feed(raw) { line in parser.feed(line) { out.append($0) } } }
    }

    mutating func gap() {
        framer.gap { line in parser.feed(line) { out.append($0) } }
        parser.gap { out.append($0) }
    }
}

@Suite struct ReplyParserTests {
    let stream = "220-Welcome\r\n230 not the end\r\n 220 leading space\r\n2200 no\r\n\r\n220-still\r\n220 Ready\r\n"
        + "214-Help\n200 bare LF lines\n214 End\n" + "211 single\r\n"

    @Test func rfc959MultiLineRules() {
        let r = parse(stream)
        #expect(r.map(\.code) == [220, 214, 211])
        #expect(texts(r[0]) == ["220-Welcome", "230 not the end", " 220 leading space", "2200 no", "", "220-still", "220 Ready"])
        #expect(texts(r[1]) == ["214-Help", "200 bare LF lines", "214 End"])
        #expect(r.allSatisfy { $0.anomalies.isEmpty })
    }

    /// A reply kept for long is compacted into buffers of its own size: the same reply, not
    /// the parser's reserved capacity (512 bytes or more for a multi-line reply).
    @Test func compactedReplyIsTheSameInItsOwnSize() throws {
        var parser = ReplyParser()
        var spare = ReplyBuffers()
        var framer = LineFramer(maxLineLength: 65536)
        var out: [Reply] = []
        Array("211-Features:\r\n UTF8\r\n211 End\r\n".utf8).withUnsafeBytes { raw in
            framer.feed(raw) { line in parser.feed(line, reusing: &spare) { out.append($0) } }
        }
        let r = try #require(out.first)
        let c = r.compacted()
        #expect(c == r && texts(c) == ["211-Features:", " UTF8", "211 End"])
        #expect(r.storage.capacity >= 512)
        #expect(c.storage.capacity < 64, "\(c.storage.capacity)")
    }

    /// The decoder-verifier test swift-nio recommends: any chunking gives the same replies.
    @Test(arguments: [[1], [2], [3], [5, 1, 7], [13], [64]])
    func chunkingDoesNotMatter(_ chunks: [Int]) {
        #expect(parse(stream, chunks: chunks) == parse(stream))
    }

    /// Telnet commands are removed and the reply says so; an escaped 0xFF is data, not a
    /// removal; the flag stays with its own line however the stream is cut.
    @Test(arguments: [[], [1], [2], [3], [7]])
    func telnetCommandsAreRemovedAndFlagged(_ chunks: [Int]) {
        let bytes: [UInt8] = [0xFF, 0xFB, 0x01] + Array("220 a".utf8) + [0xFF, 0xFF] + Array("b".utf8) + [0xFF, 0xF1] + Array("\r\n".utf8)
            + Array("230 a".utf8) + [0xFF, 0xFF] + Array("b\r\n".utf8)
            + Array("211-x\r\n x".utf8) + [0xFF, 0xFA, 0x18, 0x01, 0xFF, 0xF0] + Array("y\r\n211 end\r\n".utf8)
            + Array("200 ok".utf8) + [0xFF] + Array("z\r\n".utf8)
            + [0xFF, 0xF1] + Array("221 bye\r\n".utf8)
        let r = parse(bytes, chunks: chunks)
        #expect(r.count == 5)
        #expect(r[0].lines == [Array("220 a".utf8) + [0xFF] + Array("b".utf8)])
        #expect(r[0].anomalies == [.telnetCommandsRemoved])
        #expect(r[1].lines == [Array("230 a".utf8) + [0xFF] + Array("b".utf8)])
        #expect(r[1].anomalies.isEmpty, "IAC IAC is a data byte")
        #expect(texts(r[2]) == ["211-x", " xy", "211 end"])
        #expect(r[2].anomalies == [.telnetCommandsRemoved])
        // IAC and a byte that is not a command: both go, flagged.
        #expect(texts(r[3]) == ["200 ok"] && r[3].anomalies == [.telnetCommandsRemoved])
        // A command just before a line that then lies whole in one piece.
        #expect(texts(r[4]) == ["221 bye"] && r[4].anomalies == [.telnetCommandsRemoved])
    }

    @Test func longLinesAreCutAndFlagged() {
        let long = "220 " + String(repeating: "x", count: 1000) + "\r\n221 next\r\n"
        let r = parse(Array(long.utf8), maxLine: 100)
        #expect(r.map(\.code) == [220, 221])
        #expect(r[0].lines[0].count == 100)
        #expect(r[0].anomalies == [.lineTooLong])
    }

    @Test func tooManyLinesKeepsTheClosingLineAndCounts() {
        var s = "214-start\r\n"
        for i in 0..<50 { s += " line \(i)\r\n" }
        s += "214 end\r\n"
        let r = parse(Array(s.utf8), maxLines: 10)
        #expect(r.count == 1)
        #expect(r[0].lines.count == 10)
        #expect(texts(r[0]).last == "214 end")
        #expect(r[0].droppedLines == 42)
        #expect(r[0].anomalies == [.tooManyLines])
    }

    @Test func unterminatedMultiLineReplyAtClose() {
        let r = parse("211-Status\r\n line\r\n")
        #expect(r.count == 1)
        #expect(r[0].anomalies == [.unterminatedMultiline])
    }

    @Test func lastLineWithoutTerminator() {
        let r = parse("221 Bye")
        #expect(r[0].code == 221 && r[0].anomalies == [.unterminatedLine])
    }

    @Test func malformedAndOutOfGrammarLines() {
        let r = parse("hello\r\n2200 x\r\n700 x\r\n099 x\r\n226\r\n")
        #expect(r.map(\.code) == [nil, 220, 700, 99, 226])
        #expect(r[0].anomalies == [.malformedReplyLine])
        #expect(r[1].anomalies == [.malformedReplyLine])
        #expect(r[2].anomalies == [.codeOutsideGrammar])
        #expect(r[3].anomalies == [.codeOutsideGrammar])
        #expect(r[4].anomalies.isEmpty)
    }

    @Test func midstreamSeeksAReplyStart() {
        let r = parse("tail of something\r\n more\r\n250 ok\r\n", midstream: true)
        #expect(r.map(\.code) == [250])
    }

    @Test func gapInsideAMultiLineReply() throws {
        var g = GapFeeder()
        g.feed("211-one\r\n two")
        g.gap()
        g.feed("ee lost half\r\n211 end\r\n200 next\r\n")
        try #require(g.out.map(\.code) == [211, 200])
        #expect(g.out[0].anomalies == [.cutByGap])
        // The cut line is kept as far as it was captured; the tail after the gap is not a line.
        #expect(texts(g.out[0]) == ["211-one", " two", "211 end"])
    }

    /// A short snap length cuts every reply longer than what it keeps: the code and the start
    /// of the text are known, and the reply is reported with them.
    @Test func aReplyCutByAGapKeepsItsCodeAndStart() throws {
        var g = GapFeeder()
        g.feed("220 Ready\r\n331 Password requ")
        g.gap()
        g.feed("230 ok\r\n")
        try #require(g.out.map(\.code) == [220, 331, 230])
        #expect(texts(g.out[1]) == ["331 Password requ"])
        #expect(g.out[1].anomalies == [.cutByGap])
        #expect(g.out[0].anomalies.isEmpty && g.out[2].anomalies.isEmpty)
    }

    @Test func aFragmentTooShortToNameACodeIsNotAReply() {
        var g = GapFeeder()
        g.feed("22")
        g.gap()
        g.feed("0 the rest\r\n230 ok\r\n")
        #expect(g.out.map(\.code) == [230])
    }

    /// `211` cut right after its code may have gone on `211-`: it does not end the reply.
    @Test func aLineCutAfterTheCodeDoesNotEndAMultiLineReply() throws {
        var g = GapFeeder()
        g.feed("211-Features:\r\n211")
        g.gap()
        g.feed("-more\r\n MDTM\r\n211 End\r\n")
        try #require(g.out.count == 1)
        #expect(texts(g.out[0]) == ["211-Features:", "211", " MDTM", "211 End"])
        #expect(g.out[0].anomalies == [.cutByGap])
    }

    @Test func aMultiLineReplyStartCutByAGapStaysOpenForItsEnd() throws {
        var g = GapFeeder()
        g.feed("211-Feat")
        g.gap()
        g.feed("ures:\r\n SIZE\r\n211 End\r\n200 ok\r\n")
        try #require(g.out.map(\.code) == [211, 200])
        #expect(texts(g.out[0]) == ["211-Feat", " SIZE", "211 End"])
    }

    /// A gap that took a multi-line reply's start: its remaining lines begin no reply, and the
    /// single line that ends it is its tail, cut by the gap, not a whole reply. The tail of a
    /// line the gap cut is not such a line, and a reply opening after the gap is whole.
    @Test func theLastLineOfAReplyWhoseStartWasLost() throws {
        var g = GapFeeder()
        g.feed("230 ok\r\n")
        g.gap()
        g.feed("-rw-r--r-- 1 0 0 0 a.txt\r\n-rw-r--r-- 1 0 0 0 b.txt\r\n213 End of status\r\n200 next\r\n")
        try #require(g.out.map(\.code) == [230, 213, 200])
        #expect(texts(g.out[1]) == ["213 End of status"] && g.out[1].anomalies == [.cutByGap])
        #expect(g.out[0].anomalies.isEmpty && g.out[2].anomalies.isEmpty)

        var tail = GapFeeder()
        tail.feed("230 ok\r\n213 End of st")
        tail.gap()
        tail.feed("atus\r\n200 next\r\n")
        #expect(tail.out.map(\.code) == [230, 213, 200])
        #expect(tail.out.map(\.anomalies) == [[], [.cutByGap], []])

        var opening = GapFeeder()
        opening.feed("230 ok\r\n")
        opening.gap()
        opening.feed(" stray\r\n211-Features:\r\n SIZE\r\n211 End\r\n")
        #expect(opening.out.map(\.code) == [230, 211] && opening.out[1].anomalies.isEmpty)

        // Joined mid-stream, lines before the first reply are not counted as lost.
        let mid = parse("-rw-r--r-- a.txt\r\n213 End of status\r\n", midstream: true)
        #expect(mid.map(\.code) == [213] && mid[0].anomalies.isEmpty)
    }

    /// vsftpd writes a STAT reply a line at a time; a capture lost its first line and the start
    /// of "     Session timeout in seconds is 300": the "300" left after the gap is a line's
    /// tail, not a reply of code 300 whose later lines would all be malformed replies. Three
    /// digits alone begin a reply only where no bytes were lost before them.
    @Test func threeDigitsAloneAfterAGapAreATail() throws {
        var g = GapFeeder()
        g.feed("230 ok\r\n")
        g.gap()
        g.feed("     Logged in as ftp\r\n")
        g.gap()
        g.feed("300\r\n     Control connection is plain text\r\n211 End of status\r\n")
        try #require(g.out.map(\.code) == [230, 211])
        #expect(texts(g.out[1]) == ["211 End of status"] && g.out[1].anomalies == [.cutByGap])

        var first = GapFeeder()
        first.feed("230 ok\r\n")
        first.gap()
        first.feed("300\r\n211 End\r\n")
        #expect(first.out.map(\.code) == [230, 211])
        // Not after a gap, "300" is still read as the (malformed) reply it looks like.
        #expect(parse("300\r\n").map(\.code) == [300])
    }

    /// When the caller knows the end of a cut reply was lost (its client went on), the reply
    /// is handed over and the lines after are read as new replies, not as its lines.
    @Test func endingAReplyWhoseLastLineWasLost() throws {
        var g = GapFeeder()
        g.feed("211-Features:\r\n MDTM\r\n")
        g.gap()
        var spare = ReplyBuffers()
        g.parser.endReplyCutByGap(reusing: &spare) { g.out.append($0) }
        g.feed(" SIZE\r\n215 UNIX Type: L8\r\n")
        try #require(g.out.map(\.code) == [211, 215])
        #expect(texts(g.out[0]) == ["211-Features:", " MDTM"])
        #expect(g.out[0].anomalies == [.cutByGap, .unterminatedMultiline])
        // Nothing to end when no gap cut the open reply.
        var intact = GapFeeder()
        intact.feed("211-Features:\r\n MDTM\r\n")
        intact.parser.endReplyCutByGap(reusing: &spare) { intact.out.append($0) }
        intact.feed("211 End\r\n")
        #expect(intact.out.map { texts($0) } == [["211-Features:", " MDTM", "211 End"]])
    }

    @Test func megabyteSingleLineReplyIsBounded() {
        let bytes = Array("220 ".utf8) + [UInt8](repeating: 0x41, count: 1 << 20) + Array("\r\n".utf8)
        let r = parse(bytes, chunks: [1448])
        #expect(r.count == 1 && r[0].lines[0].count == 65536 && r[0].anomalies == [.lineTooLong])
    }

    @Test func hundredThousandLineReply() {
        var bytes = Array("214-start\r\n".utf8)
        let line = Array(" 214 x\r\n".utf8)
        for _ in 0..<100_000 { bytes += line }
        bytes += Array("214 end\r\n".utf8)
        let r = parse(bytes, chunks: [1448])
        #expect(r.count == 1 && r[0].droppedLines == 100_002 - 10_000 && r[0].anomalies == [.tooManyLines])
    }
}

@Suite struct ReplyFitTests {
    @Test func positiveRepliesTellCommandsApart() {
        #expect(Verb.retr.fit(150) == .expected && Verb.retr.fit(226) == .expected)
        #expect(Verb.retr.fit(200) == .unexpected && Verb.type.fit(150) == .unexpected)
        #expect(Verb.pass.fit(230) == .expected && Verb.user.fit(331) == .expected && Verb.pass.fit(331) == .unexpected)
        #expect(Verb.quit.fit(221) == .expected && Verb.noop.fit(221) == .unexpected)
        #expect(Verb.epsv.fit(229) == .expected && Verb.pasv.fit(229) == .unexpected && Verb.lpsv.fit(228) == .expected)
    }

    @Test func refusalsFitEveryCommandAndServerHabitsAreOnlyPossible() {
        for verb in [Verb.user, .retr, .cwd, .quit, .feat, .other] {
            #expect(verb.fit(530) == .possible && verb.fit(421) == .possible && verb.fit(550) == .possible)
        }
        #expect(Verb.cwd.fit(250) == .expected && Verb.cwd.fit(200) == .possible)
        #expect(Verb.site.fit(200) == .possible && Verb.other.fit(215) == .possible)
        #expect(Verb.greetingFit(220) == .expected && Verb.greetingFit(421) == .possible && Verb.greetingFit(230) == .unexpected)
    }
}

@Suite struct CommandAndAddressTests {
    @Test func commands() {
        #expect(Command.parse(Array("retr a b.txt".utf8)).verb == "RETR")
        #expect(Command.parse(Array("retr a b.txt".utf8)).argument == Array("a b.txt".utf8))
        #expect(Command.parse(Array("NOOP".utf8)).argument == nil)
        #expect(Command.parse(Array("12 x".utf8)).verb == nil)
        #expect(Command.parse([]).verb == nil)
    }

    @Test func decoders() throws {
        func b(_ s: String) -> [UInt8] { Array(s.utf8) }
        #expect(try AddressDecoder.decode227(b("Entering Passive Mode (10,0,0,1,4,1)")).get() == HostPort(host: [10, 0, 0, 1], port: 1025))
        #expect(AddressDecoder.decode227(b("(10,0,0,1,4,99999999999999)")) == .failure(.invalid227Tuple))
        #expect(try AddressDecoder.decode229(b("Extended (|||65535|)")).get().port == 65535)
        #expect(AddressDecoder.decode229(b("Extended (|||65536|)")) == .failure(.invalid229))
        #expect(AddressDecoder.decode229(b("Extended (||65|)")) == .failure(.invalid229))
        #expect(try AddressDecoder.decodeEPRT(b("|2|::ffff:10.0.0.1|21|")).get().hostText == "::ffff:a00:1")
        #expect(try AddressDecoder.decodeEPRT(b("|2|2001:db8::|21|")).get().hostText == "2001:db8::")
        #expect(try AddressDecoder.decodeEPRT(b("|2|1:2:3:4:5:6:7:8|21|")).get().hostText == "1:2:3:4:5:6:7:8")
        #expect(AddressDecoder.decodeEPRT(b("|2|1::2::3|21|")) == .failure(.invalidEPRT))
        #expect(AddressDecoder.decodeEPRT(b("|3|x|21|")) == .failure(.invalidEPRT))
        #expect(try AddressDecoder.decodeLPRT(b("4,4,1,2,3,4,2,0,21")).get() == HostPort(host: [1, 2, 3, 4], port: 21))
        #expect(AddressDecoder.decode228(b("(4,4,1,2,3,4,3,0,0,21)")) == .failure(.invalid228))
    }

    @Test func tlsScannerCountsRecordsAndSpotsClearText() {
        var s = TLSRecordScanner()
        let bytes: [UInt8] = [22, 3, 1, 0, 2, 9, 9, 23, 3, 3, 0, 1, 7] + Array("200 ok\r\n".utf8)
        let outcome = bytes.withUnsafeBytes { s.feed($0) }
        #expect(outcome == .clearText(at: 13))
        #expect(s.records == 2)
    }
}

@Suite struct PathNameTests {
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    func s(_ b: [UInt8]?) -> String? { b.map { String(decoding: $0, as: UTF8.self) } }
    func quoted(_ text: String) -> [UInt8]? { Array(text.utf8).withUnsafeBytes { PathName.quoted(in: $0) } }

    @Test func theQuotedNameOfA257() {
        #expect(s(quoted("\"/pub\" is the current directory")) == "/pub")
        #expect(s(quoted("\"/a \"\"b\"\" c\" created")) == "/a \"b\" c")
        #expect(s(quoted("\"/\"")) == "/")
        #expect(quoted("no quotes") == nil)
        #expect(quoted("\"/never closed") == nil)
        #expect(quoted("\"" + String(repeating: "a", count: 5000) + "\"") == nil)
    }

    /// Servers that say where a CWD, CDUP or login left the session: pyftpdlib and FileZilla
    /// Server quote it, pure-ftpd names it last; anything else names no directory.
    @Test func theDirectoryAReplyStates() {
        func stated(_ text: String) -> String? { s(Array(text.utf8).withUnsafeBytes { PathName.statedDirectory(in: $0) }) }
        #expect(stated("\"/pub/docs\" is the current directory.") == "/pub/docs")
        #expect(stated("CWD successful. \"/a \"\"b\"\"\" is current directory.") == "/a \"b\"")
        #expect(stated("OK. Current directory is /newdir") == "/newdir")
        #expect(stated("OK. Current restricted directory is /") == "/")
        #expect(stated("OK. Current Directory Is /my files/ \t") == "/my files")
        #expect(stated("OK. Current directory is /a/../b/.") == "/b")
        // Not absolute, not a directory named, or nothing said.
        #expect(stated("\"pub\" is the current directory.") == nil)
        #expect(stated("User \"alice\" logged in, directory is /home/alice") == nil)
        #expect(stated("OK. Current directory is C:\\ftp") == nil)
        #expect(stated("Directory successfully changed.") == nil)
        #expect(stated("CWD command successful") == nil)
        #expect(stated("directory is ") == nil && stated("") == nil)
        // A login's reply: the phrase only, past a quoted subject that begins with a slash.
        func login(_ text: String) -> String? { s(Array(text.utf8).withUnsafeBytes { PathName.statedDirectory(in: $0, quoted: false) }) }
        #expect(login("User \"/C=US/O=Grid/CN=bob\" logged in.") == nil)
        #expect(login("User \"/C=US/O=Grid/CN=bob\" logged in, directory is /home/bob") == "/home/bob")
        #expect(login("OK. Current restricted directory is /") == "/")
    }

    @Test func namesResolvedAgainstTheWorkingDirectory() {
        #expect(s(PathName.resolve(b("hello.txt"), against: b("/pub"))) == "/pub/hello.txt")
        #expect(s(PathName.resolve(b("/etc//passwd"), against: nil)) == "/etc/passwd")
        #expect(s(PathName.resolve(b("../../x/./y/"), against: b("/a/b/c"))) == "/a/x/y")
        #expect(s(PathName.resolve(b("../../.."), against: b("/a"))) == "/")
        #expect(s(PathName.resolve(b(".."), against: b("/"))) == "/")
        #expect(s(PathName.resolve(b("x"), against: b("/"))) == "/x")
        #expect(s(PathName.resolve(b("/a/b"), against: b("/c"))) == "/a/b")
        #expect(s(PathName.resolve(b("/a/"), against: nil)) == "/a" && s(PathName.resolve(b("/"), against: nil)) == "/")
        #expect(s(PathName.resolve(b("/a/.."), against: nil)) == "/" && s(PathName.resolve(b("a/..b"), against: b("/"))) == "/a/..b")
        #expect(PathName.resolve(b("hello.txt"), against: nil) == nil)
        #expect(PathName.resolve(b("x"), against: b("C:\\ftp")) == nil)
    }
}
