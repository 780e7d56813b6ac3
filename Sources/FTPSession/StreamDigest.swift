import Crypto
import PacketCapture
import TCPReassembly

/// Which digests of transferred files to compute (`--hash`): what Zeek's files.log gives, for
/// matching a file against known ones.
public struct TransferHashes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let md5 = TransferHashes(rawValue: 1)
    public static let sha1 = TransferHashes(rawValue: 2)
    public static let sha256 = TransferHashes(rawValue: 4)
}

/// A transferred file's digests, as lowercase hex; nil for those not asked for.
public struct TransferDigests: Sendable, Equatable {
    public var md5: String?
    public var sha1: String?
    public var sha256: String?
    public init(md5: String? = nil, sha1: String? = nil, sha256: String? = nil) {
        self.md5 = md5; self.sha1 = sha1; self.sha256 = sha256
    }
}

/// The digests of one direction of a data connection: its bytes put in order (retransmitted,
/// reordered, overlapping segments) and hashed as they come. A file is hashed only whole: a
/// capture that missed the SYN, a byte of the stream, or a byte the snap length cut has no
/// digest, since a hash of part of a file matches nothing.
struct StreamDigest {
    private var stream: StreamReassembler
    /// A reference, so that the reassembler's callback can feed it while the stream is borrowed.
    private let hashers: Hashers

    init(_ kinds: TransferHashes, maxBufferedBytes: Int) {
        stream = StreamReassembler(maxBufferedBytes: maxBufferedBytes)
        hashers = Hashers(kinds)
    }

    mutating func receive(_ segment: TCPSegment) {
        let h = hashers
        stream.receive(sequence: segment.sequence, syn: segment.flags.contains(.syn), fin: segment.flags.contains(.fin),
                       payload: segment.payload, missing: segment.missingPayload) { h.consume($0) }
    }

    /// The peer acknowledged this far: a hole behind it will never be filled.
    mutating func acknowledged(_ ack: UInt32) {
        let h = hashers
        stream.acknowledged(ack) { h.consume($0) }
    }

    /// The digests of everything received, the holes still open declared lost; nil unless the
    /// stream was seen whole from its SYN to its FIN (a reset, or a capture that ended first,
    /// leaves the file's end unknown).
    mutating func finish() -> TransferDigests? {
        let h = hashers
        stream.flush { h.consume($0) }
        guard h.whole, !stream.startedMidstream, stream.isFinished else { return nil }
        return h.digests()
    }
}

private final class Hashers {
    private var md5: Insecure.MD5?
    private var sha1: Insecure.SHA1?
    private var sha256: SHA256?
    private(set) var whole = true

    init(_ kinds: TransferHashes) {
        if kinds.contains(.md5) { md5 = Insecure.MD5() }
        if kinds.contains(.sha1) { sha1 = Insecure.SHA1() }
        if kinds.contains(.sha256) { sha256 = SHA256() }
    }

    func consume(_ event: StreamEvent) {
        switch event {
        case .data(let bytes):
            guard whole else { return }
            md5?.update(bufferPointer: bytes)
            sha1?.update(bufferPointer: bytes)
            sha256?.update(bufferPointer: bytes)
        case .gap:
            whole = false
        }
    }

    func digests() -> TransferDigests {
        TransferDigests(md5: md5.map { Self.hex($0.finalize()) }, sha1: sha1.map { Self.hex($0.finalize()) },
                        sha256: sha256.map { Self.hex($0.finalize()) })
    }

    private static func hex<D: Digest>(_ digest: D) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(D.byteCount * 2)
        for b in digest { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0x0F)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
