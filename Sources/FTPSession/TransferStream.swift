import Crypto
import PacketCapture
import TCPReassembly
import TLSDecryption

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

/// One direction of a data connection put in order (retransmitted, reordered, overlapping
/// segments) for what reads a transfer's bytes: the digests `--hash` asks for and the file
/// `--extract` writes. A file is hashed only whole: a capture that missed the SYN, a byte of
/// the stream, or a byte the snap length cut has no digest, since a hash of part of a file
/// matches nothing; the extracted file keeps what was captured, holes where bytes were lost.
struct TransferStream {
    private var stream: StreamReassembler
    /// A reference, so that the reassembler's callback can feed it while the stream is borrowed.
    private let reader: TransferReader

    init(hashes: TransferHashes, file: ExtractionFile?, maxBufferedBytes: Int, tls: DataTLS? = nil, fromClient: Bool = false,
         deflated: Bool = false) {
        stream = StreamReassembler(maxBufferedBytes: maxBufferedBytes)
        reader = TransferReader(hashes: hashes.isEmpty ? nil : Hashers(hashes), file: file, tls: tls, fromClient: fromClient,
                                inflater: deflated ? Inflater() : nil)
    }

    mutating func receive(_ segment: TCPSegment) {
        let r = reader
        stream.receive(sequence: segment.sequence, syn: segment.flags.contains(.syn), fin: segment.flags.contains(.fin),
                       payload: segment.payload, missing: segment.missingPayload) { r.consume($0) }
    }

    /// The peer acknowledged this far: a hole behind it will never be filled.
    mutating func acknowledged(_ ack: UInt32) {
        let r = reader
        stream.acknowledged(ack) { r.consume($0) }
    }

    /// Everything received, the holes still open declared lost: the digests, nil unless the
    /// stream was seen whole from its SYN to its FIN (a reset, or a capture that ended first,
    /// leaves the file's end unknown), and whether the file written is that whole stream.
    mutating func finish() -> (digests: TransferDigests?, whole: Bool) {
        let r = reader
        stream.flush { r.consume($0) }
        let whole = r.whole && !stream.startedMidstream && stream.isFinished && (r.inflater.map { $0.state == .ended } ?? true)
        return (whole ? r.hashers?.digests() : nil, whole)
    }

    /// MODE Z: the file's bytes inflated, whether the deflated stream came to its end (so that
    /// they are the whole file), and its first bytes. Nil for a transfer not deflated.
    var inflated: (bytes: Int, state: Inflater.State, head: [UInt8])? {
        reader.inflater.map { ($0.produced, $0.state, reader.inflatedHead) }
    }

    var file: ExtractionFile? { reader.file }
    /// Decrypted bytes of a TLS connection, and their start (for the content type).
    var plaintextBytes: Int { reader.plaintextBytes }
    var plaintextHead: [UInt8] { reader.head }
}

/// A data connection protected by TLS (after PROT P) that `--tls-keylog` opens: the first bytes
/// tell whether it is TLS (the FTP client's ClientHello), and then both directions' bytes, in
/// order, go through one decryptor and what they carried is the file.
final class DataTLS {
    enum Mode { case undecided, clear, tls }
    var mode = Mode.undecided
    var decryptor: TLSDecryptor
    init(keyLog: TLSKeyLogSource, sessions: TLSSessionCache) { decryptor = TLSDecryptor(keyLog: keyLog, sessions: sessions) }
}

/// What reads a data stream's bytes in order.
private final class TransferReader {
    let hashers: Hashers?
    let file: ExtractionFile?
    private(set) var whole = true
    private let tls: DataTLS?
    private let fromClient: Bool
    private(set) var plaintextBytes = 0
    private(set) var head: [UInt8] = []
    let inflater: Inflater?
    private(set) var inflatedHead: [UInt8] = []

    init(hashes: Hashers?, file: ExtractionFile?, tls: DataTLS?, fromClient: Bool, inflater: Inflater?) {
        self.hashers = hashes; self.file = file; self.tls = tls; self.fromClient = fromClient; self.inflater = inflater
    }

    func consume(_ event: StreamEvent) {
        guard let tls else { return read(event) }
        if tls.mode == .undecided {
            switch event {
            case .data(let bytes) where bytes.isEmpty: return
            case .data(let bytes):
                // TLS starts with the FTP client's ClientHello; a server that sends first, or a
                // first byte of anything else, is a clear-text transfer.
                tls.mode = fromClient && bytes.count >= 3 && bytes[0] == 22 && bytes[1] == 3 && bytes[2] <= 4 ? .tls : .clear
            case .gap:
                tls.mode = .clear
            }
        }
        guard tls.mode == .tls else { return read(event) }
        switch event {
        case .data(let bytes):
            tls.decryptor.feed(bytes, fromClient: fromClient) { plain in
                plaintextBytes += plain.count
                if head.count < ContentType.sniffLength { head.append(contentsOf: plain.prefix(ContentType.sniffLength - head.count)) }
                // After a loss the plaintext's place in the file is unknown: nothing more is written.
                if whole { read(.data(plain)) }
            }
        case .gap:
            tls.decryptor.gap(fromClient: fromClient)
            whole = false
        }
    }

    /// The transfer's bytes in order (after TLS, when it was protected): in MODE Z the file
    /// deflated, inflated here before anything else reads them.
    private func read(_ event: StreamEvent) {
        guard let inflater else { return take(event) }
        switch event {
        case .data(let bytes):
            inflater.feed(bytes) { plain in
                if inflatedHead.count < ContentType.sniffLength {
                    inflatedHead.append(contentsOf: plain.prefix(ContentType.sniffLength - inflatedHead.count))
                }
                take(.data(plain))
            }
        case .gap:
            // The file's bytes the lost ones held are unknown, and so is all that follows.
            inflater.lost()
            whole = false
        }
    }

    private func take(_ event: StreamEvent) {
        switch event {
        case .data(let bytes):
            file?.append(bytes)
            if whole { hashers?.update(bytes) }
        case .gap(let count):
            whole = false
            file?.skip(count)
        }
    }
}

private final class Hashers {
    private var md5: Insecure.MD5?
    private var sha1: Insecure.SHA1?
    private var sha256: SHA256?

    init(_ kinds: TransferHashes) {
        if kinds.contains(.md5) { md5 = Insecure.MD5() }
        if kinds.contains(.sha1) { sha1 = Insecure.SHA1() }
        if kinds.contains(.sha256) { sha256 = SHA256() }
    }

    func update(_ bytes: UnsafeRawBufferPointer) {
        md5?.update(bufferPointer: bytes)
        sha1?.update(bufferPointer: bytes)
        sha256?.update(bufferPointer: bytes)
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
