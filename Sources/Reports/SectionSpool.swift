import FTPSession
#if canImport(Glibc)
import Glibc
#endif

/// Each session's part of a report that lists exchanges (a JUnit test suite, an HTML
/// timeline), rendered when the session ends and kept in an unnamed temporary file until the
/// report is written: the collector then holds no exchanges of ended sessions, and a report of
/// a capture of gigabytes needs memory for its sessions' summaries, not for every reply.
public final class SectionSpool: @unchecked Sendable {
    // Written by the one thread that fills the collector, read after it has finished.
    private let file: UnsafeMutablePointer<FILE>?
    /// Where the sections go when no temporary file could be made.
    private var memory: [UInt8] = []
    /// Set after a write to the file failed (a full disk): the rest goes to memory.
    private var fileFailed = false
    public private(set) var byteCount = 0

    public init() { file = tmpfile() }

    deinit { if let file { fclose(file) } }

    public func append(_ text: String) {
        writeUTF8(text) { append(bytes: $0) }
    }

    public func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append(bytes: $0) }
    }

    public func append(bytes b: UnsafeRawBufferPointer) {
        byteCount += b.count
        var written = 0
        if let file, !fileFailed {
            written = fwrite(b.baseAddress, 1, b.count, file)
            if written == b.count { return }
            fileFailed = true
        }
        memory.append(contentsOf: b[written...])
    }

    /// Everything appended, in order, in chunks.
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) -> Void) {
        if let file {
            fflush(file)
            rewind(file)
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
                if n == 0 { break }
                chunk.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            fseek(file, 0, SEEK_END)
        }
        memory.withUnsafeBytes { if !$0.isEmpty { body($0) } }
    }
}

/// A string's UTF-8 to a writer of byte chunks (the streamed reports' pieces).
func writeUTF8(_ text: String, to out: (UnsafeRawBufferPointer) -> Void) {
    var text = text
    text.withUTF8 { out(UnsafeRawBufferPointer($0)) }
}

/// How a report renders one session's section: each exchange as soon as the next one begins
/// (an open session then holds rendered text, not its replies), and the whole when the session
/// ends, around its exchanges' parts.
public struct SectionRenderer: Sendable {
    /// Rendered text and what it counts (JUnit's tests and failures, which its root element
    /// states before any section). The text is UTF-8 bytes: sections are only ever appended
    /// and written out, and as strings each test case was validated again when it became one.
    public struct Section: Sendable {
        public var text: [UInt8]
        public var tests = 0
        public var failures = 0
        public init(text: [UInt8] = [], tests: Int = 0, failures: Int = 0) { self.text = text; self.tests = tests; self.failures = failures }
        public init(text: String, tests: Int = 0, failures: Int = 0) { self.init(text: Array(text.utf8), tests: tests, failures: failures) }

        /// Room for `bytes` more. A session's parts grow by an exchange at a time and are held
        /// until it ends; grown by doubling, they held a third more than their text, 95 MB with
        /// 100,000 sessions open at once. Small parts grow by room for two such exchanges or a
        /// quarter, large ones still double. Room for one was a new buffer and a copy for
        /// nearly every exchange (4 % of a JUnit or HTML report's instructions); room for two
        /// holds 1–4 % more with 100,000 open (JUnit 466 → 470 MB, HTML 536 → 555 MB).
        mutating func makeRoom(_ bytes: Int) {
            guard text.capacity - text.count < bytes else { return }
            text.reserveCapacity(text.count + (text.count < 16_384 ? Swift.max(2 * bytes, text.count / 4) : text.count + bytes))
        }

        mutating func append(_ other: Section) {
            other.text.withUnsafeBytes { text.append(contentsOf: $0) }
            tests += other.tests; failures += other.failures
        }
    }

    /// What a section puts before and after its exchanges' parts, and the counts of the whole.
    /// Apart from the parts, so that parts moved out of memory while the session was open
    /// (`PartSpill`) are written between them without being read back into one buffer.
    public struct Frame: Sendable {
        public var head: [UInt8]
        public var tail: [UInt8]
        public var tests: Int
        public var failures: Int
        public init(head: [UInt8], tail: [UInt8], tests: Int = 0, failures: Int = 0) {
            self.head = head; self.tail = tail; self.tests = tests; self.failures = failures
        }
    }

    /// Appends an exchange's part to the session's parts (written in place: a part of its own
    /// was an allocation and a copy per exchange).
    let exchange: @Sendable (Exchange, SessionIdentity, Policy, _ parts: inout Section) -> Void
    /// The frame of the session (without exchanges: those are the parts), given the parts'
    /// counts.
    let frame: @Sendable (_ session: SessionReport, _ parts: (tests: Int, failures: Int), Policy) -> Frame

    public init(exchange: @escaping @Sendable (Exchange, SessionIdentity, Policy, _ parts: inout Section) -> Void,
                frame: @escaping @Sendable (_ session: SessionReport, _ parts: (tests: Int, failures: Int), Policy) -> Frame) {
        self.exchange = exchange; self.frame = frame
    }

    /// Renders the exchanges the session still holds after `parts`, and returns the frame
    /// around all of them; the exchanges are left to the caller.
    func close(_ s: SessionReport, parts: inout Section, policy: Policy) -> Frame {
        for e in s.exchanges { exchange(e, s.summary.session, policy, &parts) }
        var bare = s
        bare.exchanges = []
        return frame(bare, (parts.tests, parts.failures), policy)
    }

    /// A whole section: `parts` already rendered, then the exchanges the session still holds.
    public func render(_ s: SessionReport, after parts: Section = Section(), policy: Policy) -> Section {
        var parts = parts
        let frame = close(s, parts: &parts, policy: policy)
        var text: [UInt8] = []
        text.reserveCapacity(frame.head.count + parts.text.count + frame.tail.count)
        for piece in [frame.head, parts.text, frame.tail] { piece.withUnsafeBytes { text.append(contentsOf: $0) } }
        return Section(text: text, tests: frame.tests, failures: frame.failures)
    }
}
