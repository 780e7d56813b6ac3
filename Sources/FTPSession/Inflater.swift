import CDecompress

/// The bytes of a transfer in MODE Z (draft-preston-ftpext-deflate: each transfer one zlib
/// stream) inflated back into the file, for its size, content type, digests and extraction.
final class Inflater {
    /// `tooLarge`: the stream inflated past `limit(consumed:)`, and was left there.
    enum State: Equatable { case inflating, ended, damaged, tooLarge }
    private(set) var state = State.inflating
    /// Bytes of the file inflated so far, from `consumed` deflated bytes.
    private(set) var produced = 0
    private var consumed = 0

    /// How far a stream is inflated: deflate shrinks up to about 1,000 to one, so a capture's
    /// few megabytes could make terabytes to hash and write (a deflate bomb). Real files rarely
    /// shrink to a twentieth; one past 16 MiB that does is not inflated further.
    static func limit(consumed: Int) -> Int { max(16 << 20, 20 * consumed) }
    private let stream: UnsafeMutablePointer<z_stream>
    private var started = false
    private let output: UnsafeMutableRawBufferPointer

    init() {
        // zlib keeps a pointer back to the stream in its state and checks it: the stream
        // must not move, so it lives outside any Swift value.
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        output = .allocate(byteCount: 1 << 16, alignment: 16)
    }

    deinit {
        if started { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Inflates the next bytes of the stream, handing each piece of the file to `body`.
    /// After the stream's end, or once it is damaged, bytes are ignored.
    func feed(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard state == .inflating, let base = bytes.baseAddress, !bytes.isEmpty else { return }
        if !started {
            // A zlib header (RFC 1950) as the draft says, or raw deflate as some servers send.
            let cmf = bytes[0]
            let zlib = bytes.count < 2 || (cmf & 0x0F == 8 && (UInt16(cmf) << 8 | UInt16(bytes[1])) % 31 == 0)
            guard ftpscope_inflate_init(stream, zlib ? 0 : 1) == Z_OK else { state = .damaged; return }
            started = true
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(bytes.count)
        consumed += bytes.count
        repeat {
            if produced > Self.limit(consumed: consumed) { state = .tooLarge; return }
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(output.count)
            let result = inflate(stream, Z_NO_FLUSH)
            let n = output.count - Int(stream.pointee.avail_out)
            if n > 0 {
                produced += n
                body(UnsafeRawBufferPointer(rebasing: output[0..<n]))
            }
            switch result {
            case Z_STREAM_END: state = .ended; return
            case Z_OK: continue
            case Z_BUF_ERROR where stream.pointee.avail_in == 0: return
            default: state = .damaged; return
            }
        } while stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0
    }

    /// Bytes of the stream were lost: what follows cannot be inflated.
    func lost() { if state == .inflating { state = .damaged } }
}
