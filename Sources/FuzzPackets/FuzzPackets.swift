import PacketCapture

// Built only by scripts/fuzz (-D FUZZING, -sanitize=fuzzer); an empty program otherwise.
#if FUZZING

/// libFuzzer target: one raw frame through the header decoder, under every link type.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPackets(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let frame = UnsafeRawBufferPointer(start: data, count: size)
    for link in [LinkType.ethernet, .linuxSLL, .linuxSLL2, .null, .loop, .raw, .ipv4, .ipv6, .ieee80211, .radiotap, .ppi,
                 .ppp, .pppSerial, .pppWithDirection, .ciscoHDLC, .nflog, .pflog] {
        if case .success(let s) = PacketDecoder(linkType: link).decode(frame) {
            // The payload must lie inside the frame.
            precondition(s.payload.count <= size && s.missingPayload >= 0)
            if let base = s.payload.baseAddress, s.payload.count > 0 {
                precondition(base >= data && base + s.payload.count <= data + size)
            }
        }
    }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzer(_ argc: UnsafeMutablePointer<CInt>,
               _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links executables against `<module>_main`; hand control to libFuzzer's driver.
@_cdecl("FuzzPackets_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var c = argc
    var v = argv
    return runFuzzer(&c, &v, fuzzPackets)
}
#endif
