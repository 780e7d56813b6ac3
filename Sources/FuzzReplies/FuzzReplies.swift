import FTPProtocol

// Built only by scripts/fuzz (-D FUZZING, -sanitize=fuzzer); an empty program otherwise.
#if FUZZING

/// libFuzzer target: a control-connection byte stream through the line framer, the reply
/// parser (with small caps so they are hit), the command parser, the address decoders and
/// RFC 2228 decoding. The first byte picks the chunk size so splitting is fuzzed too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReplies(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let first = bytes.first else { return 0 }
    let chunk = Int(first % 16) + 1
    var framer = LineFramer(maxLineLength: 512)
    var parser = ReplyParser(startMidstream: first & 0x80 != 0, maxLinesPerReply: 8)
    var i = 1
    while i < size {
        let piece = UnsafeRawBufferPointer(rebasing: bytes[i..<min(size, i + chunk)])
        framer.feed(piece) { line in
            _ = Command.parse(line.bytes)
            let copy = Array(line.bytes)
            _ = AddressDecoder.decodePORT(copy)
            _ = AddressDecoder.decodeEPRT(copy)
            parser.feed(line) { reply in
                let text = reply.text
                if let name = text.withUnsafeBytes({ PathName.quoted(in: $0) }) {
                    _ = PathName.resolve(name, against: copy.first == 0x2F ? copy : nil)
                }
                _ = AddressDecoder.decode227(text)
                _ = AddressDecoder.decode228(text)
                _ = AddressDecoder.decode229(text)
                _ = ProtectedReply.decode(reply)
            }
        }
        if i % 97 == 0 {
            // As a session does at a gap: the cut line to the parser, and sometimes the open
            // reply ended as one whose last line was lost.
            framer.gap { line in
                _ = Command.parse(line.bytes)
                parser.feed(line) { reply in _ = reply.withFirstLineText { PathName.quoted(in: $0) } }
            }
            parser.gap { _ in }
            if first & 0x40 != 0 {
                var spare = ReplyBuffers()
                parser.endReplyCutByGap(reusing: &spare) { _ in }
            }
        }
        i += chunk
    }
    framer.finish { parser.feed($0) { _ in } }
    parser.finish { _ in }
    var tls = TLSRecordScanner()
    _ = tls.feed(bytes)
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzer(_ argc: UnsafeMutablePointer<CInt>,
               _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links executables against `<module>_main`; hand control to libFuzzer's driver.
@_cdecl("FuzzReplies_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var c = argc
    var v = argv
    return runFuzzer(&c, &v, fuzzReplies)
}
#endif
