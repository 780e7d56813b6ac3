// swift-tools-version:6.0
import PackageDescription

// One target per pipeline stage; each depends only on the stages before it so the
// compiler keeps the architecture honest: capture → reassembly → protocol → session → reports → CLI.
// Dynamic exclusivity checks cost about 6% of the control-heavy benchmark (callgrind); the
// debug build and the test suite keep them, release builds of the hot stages drop them.
// Cross-module optimisation lets the generic flow table, the reassembler and the JSON writer be
// specialised and inlined into their callers across target boundaries: without it a
// `FlowTable<Flow>` lookup went through generic metadata and value witnesses on every packet.
let hot: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"], .when(configuration: .release))]

let package = Package(
    name: "ftpscope",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ftpscope", targets: ["ftpscope"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        // MD5, SHA-1 and SHA-256 of transferred files (`--hash`), as Zeek's files.log gives them.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        // glibc headers Swift's Glibc module leaves out (mallopt, __fsetlocking).
        .systemLibrary(name: "CGlibc"),
        // gzip-, zstd- and lz4-compressed captures read through stdio streams libpcap can take.
        .systemLibrary(name: "CDecompress", providers: [.apt(["zlib1g-dev", "libzstd-dev", "liblz4-dev"])]),
        // Address value types shared by the capture layer and the protocol decoders.
        .target(name: "NetworkAddress", swiftSettings: hot),
        .target(name: "PacketCapture", dependencies: [
            "CPcap", "CGlibc", "CDecompress", "NetworkAddress", .product(name: "DequeModule", package: "swift-collections"),
        ], swiftSettings: hot),
        // One inline C function: a cache prefetch hint for the flow table's lookahead.
        .target(name: "CPrefetch"),
        .target(name: "TCPReassembly", dependencies: [
            "PacketCapture", "CPrefetch", .product(name: "DequeModule", package: "swift-collections"),
        ], swiftSettings: hot),
        .target(name: "FTPProtocol", dependencies: ["NetworkAddress"], swiftSettings: hot),
        .target(name: "ReplyCatalog", swiftSettings: hot),
        // TLS records opened with the secrets of a key log (SSLKEYLOGFILE): FTPS replies read.
        // AES-CBC for the TLS CBC suites (swift-crypto has no fast one).
        .systemLibrary(name: "CLibcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "TLSDecryption", dependencies: [.product(name: "Crypto", package: "swift-crypto"), "CLibcrypto"]),
        .target(name: "FTPSession", dependencies: [
            "PacketCapture", "CPrefetch", "CDecompress", "TCPReassembly", "FTPProtocol", "ReplyCatalog", "TLSDecryption",
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: hot),
        .target(name: "Reports", dependencies: [
            "FTPSession", "FTPProtocol", "ReplyCatalog", .product(name: "DequeModule", package: "swift-collections"),
        ], swiftSettings: hot),
        .executableTarget(name: "ftpscope", dependencies: [
            "PacketCapture", "FTPSession", "Reports", "ReplyCatalog", "CGlibc", "TLSDecryption",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "DequeModule", package: "swift-collections"),
        ], swiftSettings: hot),
        .testTarget(name: "PacketCaptureTests", dependencies: ["PacketCapture", "TestSupport"]),
        .testTarget(name: "TCPReassemblyTests", dependencies: ["TCPReassembly", "PacketCapture"]),
        .testTarget(name: "FTPProtocolTests", dependencies: ["FTPProtocol"]),
        .testTarget(name: "ReplyCatalogTests", dependencies: ["ReplyCatalog"]),
        .testTarget(name: "TLSDecryptionTests", dependencies: [
            // Records are sealed with swift-crypto's BoringSSL (AES-CBC from _CryptoExtras, slow
            // and only here) and opened with libcrypto: two implementations that must agree.
            "TLSDecryption", .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),
        .testTarget(name: "FTPSessionTests", dependencies: ["FTPSession", "TestSupport", "CDecompress", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "ftpscope", "TLSDecryption", .product(name: "Crypto", package: "swift-crypto")]),
        .executableTarget(name: "capture-generator", dependencies: ["TestSupport", "PacketCapture"],
                          path: "Benchmarks/CaptureGenerator"),
        // libFuzzer targets: built only by scripts/fuzz (with -sanitize=fuzzer,address).
        .executableTarget(name: "FuzzReplies", dependencies: ["FTPProtocol"]),
        .executableTarget(name: "FuzzPackets", dependencies: ["PacketCapture"]),
        .executableTarget(name: "FuzzPipeline", dependencies: ["FTPSession", "Reports", "PacketCapture", "TLSDecryption"]),
        .target(name: "TestSupport", dependencies: [
            "PacketCapture", "FTPSession", "Reports", "CLibcrypto", .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Tests/TestSupport"),
    ]
)
