import NetworkAddress

/// A minimal JSON emitter on bytes: keys in the order written (the schema is read by people
/// too), strings escaped per RFC 8259, invalid UTF-8 replaced by U+FFFD, no Foundation.
///
/// This is the hot path of `analyze --format jsonl` on control-heavy captures, so text that
/// needs no escaping (almost all of it) is copied in one piece, and numbers are written as
/// digits without building strings. One writer lives as long as the output: records are
/// rendered straight into it and it is flushed (or handed to a writer thread) when full, so a
/// record costs no allocation and no copy between encoder and write(2).
public struct JSONWriter: ~Copyable {
    // A raw growing buffer: appends are memcpy, with none of Array's uniqueness checks
    // and generic append paths on the per-key hot path.
    private var base: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var capacity: Int
    private var needsComma = false
    /// The last timestamp's whole seconds and their digits: consecutive records of a capture
    /// share them, so only the fraction is converted per record.
    private var lastSeconds = -1
    private var secondsDigits: (UInt64, UInt64) = (0, 0)
    private var secondsLength = 0

    public init(capacity: Int = 1024) {
        precondition(capacity > 0)
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    /// The bytes written so far.
    var out: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Bytes written since the last `clear()`.
    public var byteCount: Int { count }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Forgets the bytes written, keeping the storage.
    public mutating func clear() { count = 0; needsComma = false; identityMark = -1; sessionMark = (-1, 0) }

    /// Where the last record's session id starts (its opening quote in JSON, its letter in
    /// text), for a merger that renumbers sessions without searching the record; -1 before any.
    public private(set) var identityMark = -1
    mutating func markIdentity() { identityMark = count }

    /// The session (its analyzer's number) of the last record that does not show its id, and
    /// where that record starts: grouped text, whose records the merger sorts into blocks.
    public private(set) var sessionMark = (start: -1, number: 0)
    mutating func markSession(_ number: Int) { sessionMark = (count, number) }

    /// `record` with the `idLength` bytes at `idStart` replaced by `prefix`, `letter` and
    /// `number` in decimal, in one reservation: how the merger renumbers a session id in every
    /// record (three appends reserved and checked room three times per record).
    public mutating func append(record: UnsafeRawBufferPointer, idStart: Int, idLength: Int,
                                prefix: UnsafeRawBufferPointer, letter: UInt8, number: Int) {
        precondition(number >= 0 && idStart >= 0 && idLength >= 0 && idStart + idLength <= record.count)
        withRoom(record.count - idLength + prefix.count + 21) { room in
            room.copy(UnsafeRawBufferPointer(rebasing: record[..<idStart]))
            room.copy(prefix)
            room.byte(letter)
            room.digits(number)
            room.copy(UnsafeRawBufferPointer(rebasing: record[(idStart + idLength)...]))
        }
    }

    /// Trades storage with another writer: double buffering between the thread that renders
    /// and the one that writes, without copying either buffer.
    public mutating func exchange(with other: inout JSONWriter) {
        (base, other.base) = (other.base, base)
        (count, other.count) = (other.count, count)
        (capacity, other.capacity) = (other.capacity, capacity)
        (needsComma, other.needsComma) = (other.needsComma, needsComma)
        (identityMark, other.identityMark) = (other.identityMark, identityMark)
        (sessionMark, other.sessionMark) = (other.sessionMark, sessionMark)
        (lastSeconds, other.lastSeconds) = (other.lastSeconds, lastSeconds)
        (secondsDigits, other.secondsDigits) = (other.secondsDigits, secondsDigits)
        (secondsLength, other.secondsLength) = (other.secondsLength, secondsLength)
    }

    /// Bytes that are already output (text records, copied spools).
    public mutating func append(bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }
    public mutating func append(bytes: UnsafeRawBufferPointer) { append(bytes) }

    /// A new top-level value starts: no comma before it.
    mutating func beginRecord() { needsComma = false }

    public mutating func raw(_ byte: UInt8) { reserve(1); base[count] = byte; count += 1 }

    @inline(__always)
    private mutating func reserve(_ n: Int) {
        guard count + n > capacity else { return }
        var newCapacity = capacity * 2
        while newCapacity < count + n { newCapacity *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = newCapacity
    }

    @inline(__always)
    private mutating func append(_ p: UnsafeRawBufferPointer) {
        withRoom(p.count) { $0.copy(p) }
    }

    @inline(__always)
    private mutating func append(_ p: UnsafeBufferPointer<UInt8>) { append(UnsafeRawBufferPointer(p)) }

    @inline(__always)
    private mutating func append(_ b: UInt8) { raw(b) }

    mutating func beginObject() { separator(); append(0x7B); needsComma = false }
    mutating func endObject() { append(0x7D); needsComma = true }
    mutating func beginArray() { separator(); append(0x5B); needsComma = false }
    mutating func endArray() { append(0x5D); needsComma = true }

    /// Keys are literals of the schema: copied as they are.
    mutating func key(_ k: StaticString) {
        // Comma, quote, key, quote and colon in one reservation.
        let n = k.utf8CodeUnitCount
        reserve(n + 4)
        if needsComma { base[count] = 0x2C; count += 1 }
        base[count] = 0x22
        (base + count + 1).update(from: k.utf8Start, count: n)
        base[count + 1 + n] = 0x22; base[count + 2 + n] = 0x3A
        count += n + 3
        needsComma = false
    }

    /// A key that comes from data (counts by name, by code).
    mutating func dynamicKey(_ k: String) {
        separator()
        appendString(k)
        append(0x3A)
        needsComma = false
    }

    mutating func null() { separator(); appendStatic("null") }

    @inline(__always)
    private mutating func appendStatic(_ s: StaticString) {
        append(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }
    mutating func bool(_ b: Bool) {
        separator()
        if b { appendStatic("true") } else { appendStatic("false") }
    }
    mutating func int(_ v: Int) { separator(); appendDigits(v) }
    mutating func int(_ v: Int?) { if let v { int(v) } else { null() } }

    mutating func double(_ v: Double, decimals: Int = 3) {
        separator()
        guard let f = FixedPoint(v, decimals: decimals) else { appendStatic("null"); return }
        if f.negative { append(0x2D) }
        appendDigits(f.whole)
        if decimals > 0 { append(0x2E); appendFixedWidth(f.fraction, decimals) }
    }

    /// A timestamp as seconds with 6 decimals, or 9 when the capture has nanoseconds.
    mutating func timestamp(_ ns: Int64) {
        separator()
        timestampValue(ns)
    }

    mutating func string(_ s: String) { separator(); appendString(s) }
    mutating func string(_ s: String?) { if let s { string(s) } else { null() } }
    mutating func string(_ s: StaticString) {
        separator(); append(0x22); appendStatic(s); append(0x22)
    }

    /// Wire bytes: decoded as UTF-8 with U+FFFD for anything invalid.
    mutating func bytes(_ b: [UInt8]) {
        separator()
        bytesValue(b)
    }
    mutating func bytes(_ b: UnsafeRawBufferPointer) {
        separator()
        bytesValue(b)
    }
    mutating func bytes(_ b: [UInt8]?) { if let b { bytes(b) } else { null() } }

    private mutating func separator() {
        if needsComma { append(0x2C) }
        needsComma = true
    }

    private mutating func appendString(_ s: String) {
        var s = s
        s.withUTF8 { buffer in
            append(0x22)
            if Self.needsNoEscape(buffer) { append(buffer) } else { appendEscaped(buffer) }
            append(0x22)
        }
    }

    /// Valid UTF-8 (a Swift String) needs escaping only for controls, quote and backslash.
    private static func needsNoEscape(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        for c in b where c < 0x20 || c == 0x7F || c == 0x22 || c == 0x5C { return false }
        return true
    }

    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        withRoom(utf8.count * 6) { $0.escaped(utf8) }
    }

    /// The start of `n` bytes of room, for `withRoom`.
    mutating func reserveRoom(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        reserve(n)
        return base + count
    }

    /// Takes `n` bytes written into reserved room as written.
    mutating func advance(by n: Int) {
        precondition(n >= 0 && count + n <= capacity)
        count += n
    }

    /// The session id of the record being written starts `offset` bytes into the writer.
    mutating func markIdentity(at offset: Int) { identityMark = offset }

    /// An integer in decimal, through the record writer's digits.
    @inline(__always)
    private mutating func appendDigits(_ value: Int) {
        var v = value
        if v < 0 { append(0x2D); v = v == .min ? .max : -v }
        withRoom(19) { $0.digits(v) }
    }

    /// `value` (0 ≤ value < 10^width) in exactly `width` digits.
    @inline(__always)
    private mutating func appendFixedWidth(_ value: Int, _ width: Int) {
        withRoom(width) { $0.fixedWidth(value, width) }
    }

    // MARK: Fixed record layouts
    //
    // The reply record is most of the output; its layout is fixed by the schema, so the
    // encoder writes the keys and punctuation between values as literal fragments instead
    // of key by key. These append exactly what they are given, with no separator logic, and
    // are inlined into the encoder: as calls, each spilled and reloaded the buffer's position
    // (2.5 % of all instructions on the control-heavy capture).

    /// Literal JSON text: keys, punctuation, whole constant values.
    @inline(__always)
    mutating func fragment(_ s: StaticString) { appendStatic(s) }

    /// A value that is already JSON text (a pre-quoted, pre-escaped string).
    @inline(__always)
    mutating func encoded(_ json: [UInt8]) { json.withUnsafeBytes { append($0) } }

    mutating func stringValue(_ s: String) { appendString(s) }
    /// Text ftpscope itself produced (session ids, endpoints): ASCII with nothing to escape,
    /// so it is copied without the check wire text needs.
    @inline(__always)
    mutating func trustedValue(_ b: UnsafeRawBufferPointer) {
        withRoom(b.count + 2) { $0.trusted(b) }
    }

    /// Wire bytes as a JSON string, through the record writer's own path (at most six bytes
    /// out per byte in).
    @inline(__always)
    mutating func bytesValue(_ b: UnsafeRawBufferPointer) {
        withRoom(6 * b.count + 2) { $0.wire(b) }
    }
    mutating func bytesValue(_ b: [UInt8]) {
        b.withUnsafeBytes { bytesValue($0) }
    }
    @inline(__always)
    mutating func intValue(_ v: Int) { appendDigits(v) }
    /// A timestamp as seconds with 6 decimals, or 9 when the capture has nanoseconds: one
    /// reservation, the whole seconds copied from the last record's (consecutive records share
    /// them), the fraction as fixed-width digits.
    @inline(__always)
    mutating func timestampValue(_ ns: Int64) {
        guard ns >= 0 else {
            // Before 1970 (a crafted file): the sign, then the magnitude like any other.
            guard ns != .min else { appendStatic("-9223372036.854775808"); return }
            append(0x2D)
            timestampValue(-ns)
            return
        }
        let secs = Int(ns / 1_000_000_000), frac = Int(ns % 1_000_000_000)
        if secs != lastSeconds {
            secondsDigits = (0, 0)
            secondsLength = withUnsafeMutableBytes(of: &secondsDigits) { raw in
                var room = RoomWriter(raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
                room.digits(secs)
                return room.written
            }
            lastSeconds = secs
        }
        let (a, b, length) = (secondsDigits.0, secondsDigits.1, secondsLength)
        withRoom(32) { room in
            room.words(a, b, advancingBy: length)
            room.byte(0x2E)
            if frac % 1000 == 0 { room.fixedWidth(frac / 1000, 6) } else { room.fixedWidth(frac, 9) }
        }
    }

    @inline(__always)
    mutating func doubleValue(_ v: Double, decimals: Int = 3) {
        needsComma = false
        // Latencies: milliseconds with three decimals, the common case without the general
        // path's scale loop and separator (the same rounding, the same digits).
        if decimals == 3, v >= 0, v < 1e12 {
            withRoom(17) { $0.milliseconds(v) }
            return
        }
        double(v, decimals: decimals)
    }

    /// Text as a quoted, escaped JSON string, for tables computed once.
    static func quoted(_ s: String) -> [UInt8] {
        var w = JSONWriter(capacity: s.utf8.count * 6 + 2)
        w.appendString(s)
        return w.out
    }
}

func pad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

/// Fixed-point formatting without Foundation's locale-dependent formatters.
/// A number rounded to `decimals` places, as its sign, whole part and fraction digits; nil
/// when it is not finite or its scaled value would not fit an Int (times from hostile
/// captures can be centuries apart).
struct FixedPoint {
    let negative: Bool
    let whole: Int
    let fraction: Int

    init?(_ v: Double, decimals: Int) {
        var scale = 1
        for _ in 0..<decimals { scale *= 10 }
        guard v.isFinite, abs(v) < 9e15, abs(v) * Double(scale) < 9e18 else { return nil }
        let scaled = Int((abs(v) * Double(scale)).rounded())
        negative = v < 0 && scaled != 0
        whole = scaled / scale
        fraction = scaled % scale
    }
}

func fixed(_ v: Double, _ decimals: Int) -> String {
    var w = JSONWriter(capacity: 32)
    w.double(v, decimals: decimals)
    return String(decoding: w.out, as: UTF8.self)
}
