@testable import Reports
import Testing

@Suite struct EncodingTests {
    @Test func jsonEscapesEverythingAndReplacesInvalidUTF8() {
        var w = JSONWriter()
        w.beginArray(); w.bytes([0x22, 0x5C, 0x0A, 0x1B, 0x7F, 0xFF, 0xE4, 0xB8, 0xAD]); w.endArray()
        #expect(String(decoding: w.out, as: UTF8.self) == "[\"\\\"\\\\\\n\\u001b\\u007f\u{FFFD}中\"]")
    }

    @Test func terminalTextShowsControlsEscaped() {
        #expect(TerminalText.escape(Array("a\u{1B}[31mb\tc\u{7}".utf8)) == "a\\x1b[31mb\\tc\\x07")
        #expect(TerminalText.escape("x\u{9B}y\u{202E}z") == "x\\u{9b}y\\u{202e}z")
        #expect(TerminalText.escape([0xC3]) == "\u{FFFD}")
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
