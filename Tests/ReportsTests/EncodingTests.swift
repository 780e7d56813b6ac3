import Foundation
import PacketCapture
@testable import Reports
import Testing

@Suite struct EncodingTests {
    @Test func jsonEscapesEverythingAndReplacesInvalidUTF8() {
        var w = JSONWriter()
        w.beginArray(); w.bytes([0x22, 0x5C, 0x0A, 0x1B, 0x7F, 0xFF, 0xE4, 0xB8, 0xAD]); w.endArray()
        #expect(String(decoding: w.out, as: UTF8.self) == "[\"\\\"\\\\\\n\\u001b\\u007f\u{FFFD}中\"]")
    }

    /// ASCII that needs escaping is escaped from the bytes, other text through a String: both
    /// must agree with a plain reference escaper, at every position of words and tails.
    @Test func wireTextEscapingMatchesReferenceAtEveryPosition() {
        func reference(_ b: [UInt8]) -> String {
            var out = "\""
            for scalar in String(decoding: b, as: UTF8.self).unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                    out += "\\u00" + String(scalar.value, radix: 16).leftPadded(2)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        for length in 1...19 {
            for position in 0..<length {
                for special: [UInt8] in [[0x22], [0x5C], [0x09], [0x1B], [0x7F], [0xC3, 0xA9], [0xFF]] {
                    var b = [UInt8](repeating: 0x61, count: length)
                    b.replaceSubrange(position...position, with: special)
                    var w = JSONWriter()
                    w.bytesValue(b)
                    #expect(String(decoding: w.out, as: UTF8.self) == reference(b), "\(b)")
                    var r = JSONWriter()
                    b.withUnsafeBytes { r.bytesValue($0) }
                    #expect(r.out == w.out)
                    // The record writer's own path, which copies while it checks.
                    var room = JSONWriter()
                    room.withRoom(6 * b.count + 2) { writer in b.withUnsafeBytes { writer.wire($0) } }
                    #expect(room.out == w.out)
                }
            }
        }
        // Several specials at once, next to each other, split over word boundaries, between
        // multi-byte characters: random mixes from a fixed seed.
        let alphabet: [[UInt8]] = [[0x61], [0x61], [0x61], [0x2F], [0x22], [0x5C], [0x0D], [0x00], [0x7F],
                                   [0xC3, 0xA9], [0xE4, 0xB8, 0xAD], [0xFF], [0x80]]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<3_000 {
            var b: [UInt8] = []
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let pieces = Int(seed >> 58)
            for _ in 0..<pieces {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                b += alphabet[Int(seed >> 33) % alphabet.count]
            }
            var room = JSONWriter()
            room.withRoom(6 * b.count + 2) { writer in b.withUnsafeBytes { writer.wire($0) } }
            #expect(String(decoding: room.out, as: UTF8.self) == reference(b), "\(b)")
        }
    }

    /// Timestamps: microseconds when the nanoseconds are whole microseconds, else nanoseconds;
    /// whole seconds cached between records must not leak into a record with other seconds.
    @Test func timestampsMatchAReferenceFormatting() {
        func reference(_ ns: Int64) -> String {
            let m = ns.magnitude
            let secs = String(m / 1_000_000_000), frac = m % 1_000_000_000
            let f = frac % 1000 == 0 ? String(frac / 1000) : String(frac)
            let width = frac % 1000 == 0 ? 6 : 9
            return (ns < 0 ? "-" : "") + secs + "." + String(repeating: "0", count: width - f.count) + f
        }
        let values: [Int64] = [0, 1, 999, 1_000, 999_999_000, 999_999_999, 1_000_000_000, 1_763_800_000_050_000_000,
                               1_763_800_000_050_000_001, 1_763_800_001_000_000_000, 42, -1, -1_500_000_000, .max, .min]
        var w = JSONWriter()
        for v in values + values.reversed() {
            w.clear()
            w.timestampValue(v)
            #expect(String(decoding: w.out, as: UTF8.self) == reference(v))
        }
    }

    /// Integers and three-decimal doubles as Swift prints them, at every digit-count boundary.
    @Test func numbersMatchSwiftsOwnFormatting() {
        var values: [Int] = [0, Int.max, -Int.max]
        var p = 1
        for _ in 0..<18 { values += [p - 1, p, p + 1, -p]; p *= 10 }
        for v in values {
            var w = JSONWriter()
            w.int(v)
            #expect(String(decoding: w.out, as: UTF8.self) == String(v))
        }
        for (d, text) in [(0.0, "0.000"), (0.0004, "0.000"), (0.0005, "0.001"), (12.3456, "12.346"),
                          (999.9996, "1000.000"), (123_456_789.5, "123456789.500")] {
            var w = JSONWriter()
            w.doubleValue(d)
            #expect(String(decoding: w.out, as: UTF8.self) == text)
        }
    }

    @Test func renumberedRecordsReplaceExactlyTheIdBytes() {
        // Id at the start, inside (short and long heads and tails: both copy paths) and at the end.
        let long = String(repeating: "x", count: 300)
        for (head, id, tail) in [("", "s1", ",rest"), ("{\"session\":\"", "s42", "\"}"),
                                 (long, "s7", long), ("ab", "s123456", "")] {
            let record = Array((head + id + tail).utf8)
            for number in [0, 9, 10, 12_345, Int.max] {
                var w = JSONWriter()
                w.raw(0x7B)  // something already written stays before the record
                record.withUnsafeBytes { r in
                    Array("cap-".utf8).withUnsafeBytes { prefix in
                        w.append(record: r, idStart: head.utf8.count, idLength: id.utf8.count,
                                 prefix: prefix, letter: 0x73, number: number)
                    }
                }
                #expect(String(decoding: w.out, as: UTF8.self) == "{" + head + "cap-s\(number)" + tail)
            }
        }
    }

    @Test func terminalTextShowsControlsEscaped() {
        #expect(TerminalText.escape(Array("a\u{1B}[31mb\tc\u{7}".utf8)) == "a\\x1b[31mb\\tc\\x07")
        #expect(TerminalText.escape("x\u{9B}y\u{202E}z") == "x\\u{9b}y\\u{202e}z")
        #expect(TerminalText.escape([0xC3]) == "\u{FFFD}")
    }

    /// Each escaper returns plain text unchanged without looking at its scalars; every ASCII
    /// byte, alone and inside plain words, must still come out as its format requires.
    @Test func escapersTreatEveryASCIIByteAsTheirFormatRequires() {
        func terminal(_ b: UInt8) -> String {
            switch b {
            case 0x09: "\\t"
            case 0x5C: "\\\\"
            case 0..<0x20, 0x7F: "\\x" + (b < 0x10 ? "0" : "") + String(b, radix: 16)
            default: String(UnicodeScalar(b))
            }
        }
        func entity(_ b: UInt8, apostrophe: String) -> String? {
            switch b {
            case 0x26: "&amp;"; case 0x3C: "&lt;"; case 0x3E: "&gt;"; case 0x22: "&quot;"
            case 0x27: apostrophe
            default: nil
            }
        }
        for b in UInt8(0)...0x7F {
            let s = String(UnicodeScalar(b))
            let xml = entity(b, apostrophe: "&apos;")
                ?? ([0x09, 0x0A, 0x0D].contains(b) ? s : (b < 0x20 || b == 0x7F ? "\u{FFFD}" : s))
            let html = terminal(b).utf8.map { entity($0, apostrophe: "&#39;") ?? String(UnicodeScalar($0)) }.joined()
            let markdown = terminal(b).unicodeScalars.map { u -> String in
                switch u {
                case "|": "\\|"; case "<": "&lt;"; case ">": "&gt;"
                case "`", "*", "_", "[", "]", "#", "!", "~": "\\" + String(u)
                default: String(u)
                }
            }.joined()
            for (word, expected) in [(s, ""), ("plain " + s + " text", "plain "), ("x" + s, "x")] {
                let tail = word.dropFirst(expected.count + 1).description
                #expect(TerminalText.escape(word) == expected + terminal(b) + tail, "byte \(b)")
                #expect(Escape.xml(word) == expected + xml + tail, "byte \(b)")
                #expect(Escape.html(word) == expected + html + tail, "byte \(b)")
                #expect(Escape.markdownCell(word) == expected + markdown + tail, "byte \(b)")
            }
        }
        #expect(Escape.html("it's <&> \u{1B} \u{FFFE}") == "it&#39;s &lt;&amp;&gt; \\x1b \u{FFFD}")
        // Beyond ASCII XML keeps everything but C1 controls and the two non-characters.
        #expect(Escape.xml("a→\u{80}\u{85}\u{9F}\u{A0}\u{FFFE}\u{FFFF}\u{FFFD}\u{FFEE}é\n中'")
                == "a→\u{FFFD}\u{FFFD}\u{FFFD}\u{A0}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFEE}é\n中&apos;")
        // Nor do line separators and bidi overrides reach a CI page; their neighbours do.
        #expect(Escape.xml("\u{2027}\u{2028}\u{2029}\u{202A}\u{202E}\u{202F}\u{2065}\u{2066}\u{2069}\u{206A}")
                == "\u{2027}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{202F}\u{2065}\u{FFFD}\u{FFFD}\u{206A}")
    }

    /// Calendar text for capture times against Foundation's Gregorian calendar: before 1970,
    /// leap days, century years, the last microsecond of a day, and the time-only form.
    @Test func utcTimeMatchesFoundationsCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        // Capture times are kept within `Timestamp.captureRange` (1823–2116).
        var samples: [Int64] = [0, -1_000, -1_000_000_000, 951_782_400_000_000_000, 951_868_799_999_999_000,
                                4_107_542_400_000_000_000, -2_208_988_800_000_000_000, 1_763_800_000_123_456_789,
                                Timestamp.captureRange.lowerBound, Timestamp.captureRange.upperBound]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2_000 { samples.append(Int64.random(in: Timestamp.captureRange, using: &rng)) }
        for ns in samples {
            let secs = ns >= 0 ? ns / 1_000_000_000 : (ns - 999_999_999) / 1_000_000_000
            let micros = Int((ns - secs * 1_000_000_000) / 1000)
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(secs)))
            let time = String(format: "%02d:%02d:%02d.%06d", c.hour!, c.minute!, c.second!, micros)
            #expect(UTCTime.format(ns) == String(format: "%04d-%02d-%02d ", c.year!, c.month!, c.day!) + time, "\(ns)")
            #expect(UTCTime.format(ns, date: false) == time, "\(ns)")
        }
    }

    /// Fixed-point text of values whose scaled digits would not fit an Int is `null`, not a trap
    /// (a JUnit duration in seconds with six decimals, of times centuries apart).
    @Test func fixedPointOutOfRangeIsNull() {
        #expect(fixed(9_300_000_000_000, 6) == "null")
        #expect(fixed(1_000_000_000, 6) == "1000000000.000000")
        #expect(fixed(-1.5, 1) == "-1.5")
        var w = JSONWriter(); w.beginArray(); w.double(.infinity); w.double(1e300, decimals: 0); w.endArray()
        #expect(String(decoding: w.out, as: UTF8.self) == "[null,null]")
    }

    /// Text writes numbers as bytes itself; they must read as the JSON writer's fixed-point
    /// text (which reports still use) and pad as a string would.
    @Test func textNumbersMatchTheStringForms() {
        let values: [Double] = [0, 0.04, 0.05, 0.15, 1, 9.95, 10, 123.456, 999.999, -0.04, -1.5, -2.25, 1e12, 9.3e12,
                                .infinity, -.infinity, .nan, 0.000_5, 86_399.999_9]
        for v in values {
            for decimals in 0...6 {
                var b: [UInt8] = []
                b.append(fixed: v, decimals: decimals)
                #expect(String(decoding: b, as: UTF8.self) == fixed(v, decimals), "\(v) \(decimals)")
            }
        }
        for (v, width) in [(0, 1), (7, 1), (7, 4), (221, 1), (221, 3), (42, 6), (123_456_789, 2), (Int.max, 1)] {
            var b: [UInt8] = [0x3E]
            b.append(digits: v, width: width)
            #expect(String(decoding: b, as: UTF8.self) == ">" + String(repeating: "0", count: max(0, width - String(v).count)) + String(v))
        }
        for n in [0, 1, 31, 32, 33, 100] {
            var b: [UInt8] = [0x7C]
            b.append(spaces: n)
            #expect(b == [0x7C] + [UInt8](repeating: 0x20, count: n))
        }
    }

    @Test func timestamps() {
        #expect(UTCTime.format(1_763_800_000_123_456_000) == "2025-11-22 08:26:40.123456")
        var w = JSONWriter(); w.timestamp(1_763_800_000_123_456_789)
        #expect(String(decoding: w.out, as: UTF8.self) == "1763800000.123456789")
        // Whole seconds are reused while they repeat: changes, repeats and returns must all show.
        var seq = JSONWriter()
        seq.beginArray()
        for ns: Int64 in [1_763_800_000_000_001_000, 1_763_800_000_999_999_000, 1_763_800_001_000_000_000,
                          9_000_000_000, 9_500_000_000, 1_763_800_000_000_000_000, 0] { seq.timestamp(ns) }
        seq.endArray()
        #expect(String(decoding: seq.out, as: UTF8.self)
                == "[1763800000.000001,1763800000.999999,1763800001.000000,9.000000,9.500000,1763800000.000000,0.000000]")
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
