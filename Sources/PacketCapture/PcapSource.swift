import CPcap
import CDecompress
#if canImport(Glibc)
import CGlibc
import Glibc
#endif

/// One packet as libpcap hands it over. `bytes` is valid until the next read.
public struct RawPacket {
    public var timestamp: Timestamp
    public var wireLength: Int
    public var bytes: UnsafeRawBufferPointer
    /// The packet's own link type where it differs from the source's: a pcapng file whose
    /// interfaces differ (see `PcapngReader`); nil for all others.
    public var linkType: LinkType?
    public init(timestamp: Timestamp, wireLength: Int, bytes: UnsafeRawBufferPointer, linkType: LinkType? = nil) {
        self.timestamp = timestamp; self.wireLength = wireLength; self.bytes = bytes; self.linkType = linkType
    }
}

/// What a read returned.
public enum ReadResult {
    case packet(RawPacket)
    /// Live capture only: the read timeout passed with no packet.
    case timeout
    case end
}

/// Kernel and interface counters of a live capture.
public struct CaptureStatistics: Sendable, Equatable {
    public var received: UInt64
    public var droppedByKernel: UInt64
    public var droppedByInterface: UInt64
}

/// A libpcap handle: an offline file (pcap or pcapng, any timestamp precision) or a live
/// interface. A class because it owns a C resource that must be closed exactly once.
public final class PcapSource {
    private let handle: OpaquePointer
    public let name: String
    public let linkType: LinkType
    public let isLive: Bool
    private var dumper: OpaquePointer?
    /// Size of an offline file, for progress reporting.
    public let fileSize: Int64?

    private init(handle: OpaquePointer, name: String, isLive: Bool, fileSize: Int64?) {
        self.handle = handle
        self.name = name
        self.isLive = isLive
        self.fileSize = fileSize
        self.linkType = LinkType(dlt: pcap_datalink(handle))
    }

    /// Memory libpcap reads through (a capture held in memory, a file's stdio buffer): freed
    /// only after the handle is closed.
    private var ownedBuffer: UnsafeMutableRawBufferPointer?

    deinit {
        if let d = dumper { pcap_dump_close(d) }
        pcap_close(handle)
        fallback = nil
        for (_, var program) in fallbackFilters { pcap_freecode(&program) }
        ownedBuffer?.deallocate()
    }

    /// Where libpcap gave up on a pcapng file whose interfaces differ: the rest is read by a
    /// reader of our own, from the packet after the last one libpcap handed over.
    private var fallback: PcapngReader?
    /// Read from `ownedBuffer` (`openBuffer`) rather than from the file `name`.
    private var inMemory = false
    /// Packets libpcap handed over (those the filter passed).
    private var delivered = 0
    private var filterExpression: String?
    /// The filter compiled for each link type the fallback meets (nil: it cannot apply there).
    private var fallbackFilters: [Int32: bpf_program] = [:]
    private var fallbackFilterFailed: Set<Int32> = []

    /// Opens a capture file, or standard input for `-` (as `tcpdump -r -` and `tshark -r -`).
    /// Timestamps are read at nanosecond precision whatever the file holds.
    public static func openFile(_ path: String) throws(CaptureError) -> PcapSource {
        let name = path == "-" ? "standard input" : path
        var st = stat()
        if path == "-" {
            guard fstat(STDIN_FILENO, &st) == 0 else { throw .readFailed(path: name, reason: String(cString: strerror(errno))) }
        } else {
            guard stat(path, &st) == 0 else {
                throw errno == EACCES ? .permissionDenied(path: path) : .fileNotFound(path: path)
            }
            if (st.st_mode & S_IFMT) == S_IFDIR { throw .isDirectory(path: path) }
            guard access(path, R_OK) == 0 else { throw .permissionDenied(path: path) }
        }
        // A pipe (standard input, `<(zcat …)`, a FIFO) is read once: the bytes that tell a
        // compressed stream are put back rather than read again, and its start is kept for a
        // second reading (see `reopenAsPcapng`) instead of opening the file again.
        let rereadable = path != "-" && (st.st_mode & S_IFMT) == S_IFREG
        let raw = path == "-" ? fdopen(dup(STDIN_FILENO), "rb") : fopen(path, "rb")
        guard let raw else {
            throw errno == EACCES ? .permissionDenied(path: path) : .readFailed(path: name, reason: String(cString: strerror(errno)))
        }
        var magic: [UInt8] = [0, 0, 0, 0]
        let n = fread(&magic, 1, 4, raw)
        let compression = Compression(magic: magic.prefix(n))
        let rewound: UnsafeMutablePointer<FILE>?
        var replay: UnsafeMutablePointer<ftpscope_replay>?
        if rereadable {
            rewind(raw)
            rewound = raw
        } else {
            rewound = ftpscope_replay_open(raw, magic, n, Self.pipeStartKept, &replay)
        }
        guard let rewound, let (f, compressed) = compression.open(rewound) else {
            throw .readFailed(path: name, reason: String(cString: strerror(errno)))
        }
        // libpcap reads through stdio, whose buffer is the file system's block (4 KiB here): a
        // read(2) per 4 KiB, 84,000 for the 344 MB control-heavy capture. A buffer of our own
        // (glibc ignores a size without one) makes it one per MiB; it is freed after the handle.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        setvbuf(f, buffer.baseAddress!.assumingMemoryBound(to: CChar.self), _IOFBF, buffer.count)
        #if canImport(Glibc)
        // Once a process has a second thread, glibc locks a stream around every fread: two lock
        // and unlock pairs per packet, atomic operations a single-threaded reader (libpcap's own
        // tools, the benchmark floor) never pays. A source is read by one thread only.
        _ = __fsetlocking(f, Int32(FSETLOCKING_BYCALLER))
        #endif
        var err = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_fopen_offline_with_tstamp_precision(f, UInt32(PCAP_TSTAMP_PRECISION_NANO), &err) else {
            fclose(f)  // not closed by libpcap when it fails
            buffer.deallocate()
            let reason = errorText(err)
            if let damage = compression.damage(compressed) { throw .readFailed(path: name, reason: damage) }
            if reason.contains("truncated") { throw .truncated(path: name, reason: reason) }
            throw .notACapture(path: name, reason: reason)
        }
        let source = PcapSource(handle: h, name: name, isLive: false, fileSize: rereadable ? Int64(st.st_size) : nil)
        source.ownedBuffer = buffer
        source.compression = compression
        source.compressed = compressed
        source.rereadablePath = rereadable ? path : nil
        source.replay = replay
        return source
    }

    /// How much of a pipe's start is kept for a second reading: a pcapng file's interfaces are
    /// described at its start (dumpcap writes them all before the first packet), and libpcap
    /// stops at the first that differs before it has read much further than its 1 MiB buffer.
    public static let pipeStartKept = 16 << 20

    /// How a capture file is compressed, told by its magic whatever its name (`tcpdump -w - |
    /// gzip`, logrotate's .pcap.gz, `zstd` for archives, Wireshark's lz4): read decompressed, as
    /// tshark reads them.
    private enum Compression {
        case none, gzip, zstd, lz4

        init(magic: ArraySlice<UInt8>) {
            let m = Array(magic)
            if m.count >= 2, m[0] == 0x1F, m[1] == 0x8B { self = .gzip }
            else if m == [0x28, 0xB5, 0x2F, 0xFD] { self = .zstd }
            // An lz4 frame, or a skippable frame (0x184D2A50…5F) the decompressor steps over.
            else if m == [0x04, 0x22, 0x4D, 0x18] || (m.count == 4 && m[0] & 0xF0 == 0x50 && m[1...] == [0x2A, 0x4D, 0x18]) {
                self = .lz4
            } else { self = .none }
        }

        /// A stream of `file`'s decompressed bytes (it takes `file` over, closing it on failure),
        /// and for a compressed one its decompressor's source: how far into the compressed bytes
        /// it has read, and why it stopped if the data was damaged. Valid until the stream closes.
        func open(_ file: UnsafeMutablePointer<FILE>) -> (UnsafeMutablePointer<FILE>, UnsafeMutablePointer<ftpscope_source>?)? {
            switch self {
            case .none:
                return (file, nil)
            case .gzip:
                var z: UnsafeMutablePointer<ftpscope_gzip>?
                guard let f = ftpscope_gzip_open(file, &z), let z else { return nil }
                return (f, UnsafeMutableRawPointer(z).assumingMemoryBound(to: ftpscope_source.self))
            case .zstd:
                var z: UnsafeMutablePointer<ftpscope_zstd>?
                guard let f = ftpscope_zstd_open(file, &z), let z else { return nil }
                return (f, UnsafeMutableRawPointer(z).assumingMemoryBound(to: ftpscope_source.self))
            case .lz4:
                var z: UnsafeMutablePointer<ftpscope_lz4>?
                guard let f = ftpscope_lz4_open(file, &z), let z else { return nil }
                return (f, UnsafeMutableRawPointer(z).assumingMemoryBound(to: ftpscope_source.self))
            }
        }

        /// Why the decompressor stopped, when the compressed data (not the capture inside) was
        /// damaged: libpcap's own reason would be a stale errno or a length read from garbage.
        func damage(_ source: UnsafeMutablePointer<ftpscope_source>?) -> String? {
            guard let why = source?.pointee.error else { return nil }
            return "the \(self) stream is damaged: \(String(cString: why))"
        }
    }

    private var compression = Compression.none
    /// The file's path when it can be read again from its start (a regular file).
    private var rereadablePath: String?
    /// A pipe's start, kept for one more reading from it (nil for a file). Freed by libpcap's
    /// close of the stream.
    private var replay: UnsafeMutablePointer<ftpscope_replay>?
    /// A compressed file's decompressor (nil for others): how far it has read, for progress,
    /// and whether it met damaged data. Freed by libpcap's close of the stream.
    private var compressed: UnsafeMutablePointer<ftpscope_source>?

    /// Opens a capture held in memory (fuzzing, tests): libpcap reads it through fmemopen.
    public static func openBuffer(_ bytes: [UInt8], name: String = "<memory>") throws(CaptureError) -> PcapSource {
        guard !bytes.isEmpty else { throw .notACapture(path: name, reason: "empty") }
        // fmemopen reads from the buffer in place: keep a copy alive as long as the handle.
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
        bytes.withUnsafeBytes { copy.copyMemory(from: $0) }
        guard let f = fmemopen(copy.baseAddress, bytes.count, "rb") else {
            copy.deallocate()
            throw .readFailed(path: name, reason: "fmemopen failed")
        }
        var err = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_fopen_offline_with_tstamp_precision(f, UInt32(PCAP_TSTAMP_PRECISION_NANO), &err) else {
            fclose(f); copy.deallocate()
            throw .notACapture(path: name, reason: errorText(err))
        }
        let source = PcapSource(handle: h, name: name, isLive: false, fileSize: Int64(bytes.count))
        source.ownedBuffer = copy
        source.inMemory = true
        return source
    }

    /// Names of the interfaces libpcap can capture on.
    public static func interfaceNames() -> [String] { listInterfaces().map(\.name) }

    public struct InterfaceInfo: Sendable {
        public var name: String
        public var description: String?
        public var addresses: [String]
        public var isUp: Bool
        public var isLoopback: Bool
    }

    public static func listInterfaces() -> [InterfaceInfo] {
        var err = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        var list: UnsafeMutablePointer<pcap_if_t>?
        guard pcap_findalldevs(&list, &err) == 0 else { return [] }
        defer { pcap_freealldevs(list) }
        var out: [InterfaceInfo] = []
        var cur = list
        while let dev = cur {
            var addrs: [String] = []
            var a = dev.pointee.addresses
            while let addr = a {
                if let sa = addr.pointee.addr { if let s = Self.describe(sa) { addrs.append(s) } }
                a = addr.pointee.next
            }
            out.append(InterfaceInfo(
                name: String(cString: dev.pointee.name),
                description: dev.pointee.description.map { String(cString: $0) },
                addresses: addrs,
                isUp: dev.pointee.flags & UInt32(PCAP_IF_UP) != 0,
                isLoopback: dev.pointee.flags & UInt32(PCAP_IF_LOOPBACK) != 0))
            cur = dev.pointee.next
        }
        return out
    }

    private static func describe(_ sa: UnsafeMutablePointer<sockaddr>) -> String? {
        switch Int32(sa.pointee.sa_family) {
        case AF_INET:
            return sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                let v = UInt32(bigEndian: sin.pointee.sin_addr.s_addr)
                return IPAddress.v4(v).description
            }
        case AF_INET6:
            return sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                withUnsafeBytes(of: sin6.pointee.sin6_addr) { IPAddress(bytes: $0)?.description }
            }
        default: return nil
        }
    }

    /// Opens an interface. By default the kernel hands packets over in blocks, at the latest
    /// 100 ms after the first: replaying the control-heavy capture onto loopback at top speed,
    /// immediate mode (a wake-up and a system call per packet) took 1.1 s of system time and the
    /// kernel dropped 6,600–11,300 packets; blocks took 0.08 s and dropped none, like tcpdump.
    /// `immediate` delivers each packet as it arrives, for the lowest latency on a quiet link.
    public static func openLive(interface: String, snapLength: Int32 = 262_144, promiscuous: Bool = false,
                                immediate: Bool = false, bufferSize: Int32 = 32 << 20) throws(CaptureError) -> PcapSource {
        var err = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let h = pcap_create(interface, &err) else {
            throw .liveOpenFailed(interface: interface, reason: errorText(err))
        }
        pcap_set_snaplen(h, snapLength)
        pcap_set_promisc(h, promiscuous ? 1 : 0)
        pcap_set_immediate_mode(h, immediate ? 1 : 0)
        pcap_set_timeout(h, 100)
        pcap_set_buffer_size(h, bufferSize)
        pcap_set_tstamp_precision(h, Int32(PCAP_TSTAMP_PRECISION_NANO))
        let rc = pcap_activate(h)
        if rc < 0 {
            let reason = String(cString: pcap_geterr(h))
            pcap_close(h)
            switch rc {
            case PCAP_ERROR_NO_SUCH_DEVICE:
                throw .interfaceNotFound(name: interface, available: interfaceNames())
            case PCAP_ERROR_PERM_DENIED:
                throw .captureNotPermitted(interface: interface, reason: reason)
            default:
                if reason.contains("No such device") || reason.contains("doesn't exist") {
                    throw .interfaceNotFound(name: interface, available: interfaceNames())
                }
                throw .liveOpenFailed(interface: interface, reason: reason)
            }
        }
        return PcapSource(handle: h, name: interface, isLive: true, fileSize: nil)
    }

    /// Compiles and installs a BPF filter; libpcap's own message explains a bad one.
    public func setFilter(_ expression: String) throws(CaptureError) {
        var program = bpf_program()
        guard pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw .badFilter(expression: expression, reason: String(cString: pcap_geterr(handle)))
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else {
            throw .badFilter(expression: expression, reason: String(cString: pcap_geterr(handle)))
        }
        filterExpression = expression
    }

    /// Reads the next packet. A damaged file ends with `.truncated`; packets before it stand.
    public func next() throws(CaptureError) -> ReadResult {
        if let fallback { return try next(from: fallback) }
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        switch pcap_next_ex(handle, &header, &data) {
        case 1:
            guard let h = header, let d = data else { return .timeout }
            let hdr = h.pointee
            // Opened with nanosecond precision, tv_usec holds nanoseconds.
            let ts = Timestamp(seconds: Int64(hdr.ts.tv_sec), nanoseconds: Int64(hdr.ts.tv_usec))
            if let dumper { pcap_dump(UnsafeMutableRawPointer(dumper), h, d) }
            delivered += 1
            return .packet(RawPacket(timestamp: ts, wireLength: Int(hdr.len),
                                     bytes: UnsafeRawBufferPointer(start: d, count: Int(hdr.caplen))))
        case 0:
            return .timeout
        case -2:
            return .end
        default:
            // libpcap's netfilter (NFLOG) reader takes a non-blocking socket with nothing to
            // read for an error; every other live reader says "no packet yet".
            if isLive, errno == EAGAIN || errno == EWOULDBLOCK { return .timeout }
            let reason = String(cString: pcap_geterr(handle))
            // "an interface has a type (or a snapshot length) … different from … the first interface"
            if !isLive, reason.contains("different from the") {
                if let reader = reopenAsPcapng() {
                    try skip(delivered, in: reader)
                    fallback = reader
                    return try next(from: reader)
                }
                if replay != nil {
                    throw .readFailed(path: name, reason: reason + "; such a pcapng file is read again from its start, "
                                      + "and a pipe keeps only its first \(Self.pipeStartKept >> 20) MiB: save it to a file and analyze that")
                }
            }
            if let damage = compression.damage(compressed) { throw .readFailed(path: name, reason: damage) }
            if reason.contains("truncated") { throw .truncated(path: name, reason: reason) }
            throw .readFailed(path: name, reason: reason)
        }
    }

    /// The TLS key log a pcapng file carries in Decryption Secrets Blocks before its first
    /// packet (see `PcapngReader.leadingTLSSecrets`), read from a second handle on the file;
    /// nil for a pcap file, a pipe or a file without one.
    public func embeddedTLSKeyLog() -> String? {
        guard let path = rereadablePath, isPcapng(path), let raw = fopen(path, "rb") else { return nil }
        guard let (f, _) = compression.open(raw) else { return nil }
        let reader = PcapngReader(file: f)
        guard let secrets = try? reader.leadingTLSSecrets(), !secrets.isEmpty else { return nil }
        return String(decoding: secrets, as: UTF8.self)
    }

    /// Whether the file's (decompressed) first bytes are a pcapng section header: a pcap file
    /// is not read a second time for blocks it cannot have.
    private func isPcapng(_ path: String) -> Bool {
        guard let raw = fopen(path, "rb"), let (f, _) = compression.open(raw) else { return false }
        defer { fclose(f) }
        var magic: [UInt8] = [0, 0, 0, 0]
        return fread(&magic, 1, 4, f) == 4 && magic == [0x0A, 0x0D, 0x0D, 0x0A]
    }

    /// The same file (or buffer) from its start, for `PcapngReader`.
    private func reopenAsPcapng() -> PcapngReader? {
        if inMemory { return ownedBuffer.flatMap { fmemopen($0.baseAddress, $0.count, "rb") }.map(PcapngReader.init(file:)) }
        let again = rereadablePath.flatMap { fopen($0, "rb") } ?? replay.flatMap { ftpscope_replay_again($0) }
        guard let again, let (f, decompressor) = compression.open(again) else { return nil }
        if decompressor != nil { compressed = decompressor }
        return PcapngReader(file: f)
    }

    private func skip(_ count: Int, in reader: PcapngReader) throws(CaptureError) {
        var passed = 0
        while passed < count {
            guard case .packet = try next(from: reader) else { return }
            passed += 1
        }
    }

    /// The fallback's next packet that passes the filter, each compiled for the packet's own link type.
    private func next(from reader: PcapngReader) throws(CaptureError) -> ReadResult {
        while true {
            let packet: RawPacket?
            do { packet = try reader.next() } catch {
                switch error {
                case .truncated(let why):
                    throw compression.damage(compressed).map { .readFailed(path: name, reason: $0) } ?? .truncated(path: name, reason: why)
                case .corrupt(let why): throw .readFailed(path: name, reason: compression.damage(compressed) ?? why)
                }
            }
            guard let packet else { return .end }
            if filterExpression == nil || passes(packet) { return .packet(packet) }
        }
    }

    private func passes(_ packet: RawPacket) -> Bool {
        guard let expression = filterExpression, var dlt = packet.linkType?.dlt else { return true }
        // pcapng names link types by LINKTYPE_ value; the filter compiler wants the DLT_ one,
        // which differs for bare IP (LINKTYPE_RAW 101 is DLT_RAW 12 or 14).
        if dlt == 101 { dlt = Int32(DLT_RAW) }
        if fallbackFilterFailed.contains(dlt) { return false }
        if fallbackFilters[dlt] == nil {
            guard let dead = pcap_open_dead_with_tstamp_precision(dlt, 262_144, UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
                fallbackFilterFailed.insert(dlt); return false
            }
            defer { pcap_close(dead) }
            var program = bpf_program()
            // A filter that cannot apply to this link type ("ether host" on bare IP) passes none of it.
            guard pcap_compile(dead, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                fallbackFilterFailed.insert(dlt); return false
            }
            fallbackFilters[dlt] = program
        }
        var header = pcap_pkthdr()
        header.caplen = UInt32(packet.bytes.count)
        header.len = UInt32(clamping: packet.wireLength)
        guard let base = packet.bytes.baseAddress else { return false }
        return withUnsafePointer(to: &fallbackFilters[dlt]!) { program in
            pcap_offline_filter(program, &header, base.assumingMemoryBound(to: UInt8.self)) != 0
        }
    }

    /// Bytes of the file consumed so far (offline only).
    public var fileOffset: Int64? {
        if let compressed { return compressed.pointee.consumed }
        if let fallback { return fallback.offset }
        guard !isLive, let f = pcap_file(handle) else { return nil }
        return Int64(ftell(f))
    }

    /// Saves every packet read from now on to a pcap file.
    public func startWriting(to path: String) throws(CaptureError) {
        guard let d = pcap_dump_open(handle, path) else {
            throw .writeFailed(path: path, reason: String(cString: pcap_geterr(handle)))
        }
        dumper = d
    }

    public func flushWriter() { if let d = dumper { pcap_dump_flush(d) } }

    /// Stops blocking: `next()` then returns `.timeout` as soon as the kernel buffer is empty,
    /// so a stopping live capture can drain what was already captured.
    public func setNonblocking() { var err = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1); pcap_setnonblock(handle, 1, &err) }

    /// Live, non-blocking: waits until packets can be read or `milliseconds` pass; false if
    /// none came. libpcap's own timeout cannot serve: its blocking read waits for the next
    /// packet however long the wire stays quiet (the kernel's block timer only runs once a
    /// block holds a packet).
    public func waitForPackets(milliseconds: Int32) -> Bool {
        var p = pollfd(fd: pcap_get_selectable_fd(handle), events: Int16(POLLIN), revents: 0)
        guard p.fd >= 0 else { usleep(UInt32(milliseconds) * 1000); return true }
        return poll(&p, 1, milliseconds) > 0
    }

    /// Makes a blocked `next()` return; safe to call from a signal-handling thread.
    public func breakLoop() { pcap_breakloop(handle) }

    public func statistics() -> CaptureStatistics? {
        var s = pcap_stat()
        guard pcap_stats(handle, &s) == 0 else { return nil }
        return CaptureStatistics(received: UInt64(s.ps_recv), droppedByKernel: UInt64(s.ps_drop),
                                 droppedByInterface: UInt64(s.ps_ifdrop))
    }
}

/// Writes packets to a pcap file without a capture handle (test helpers, benchmark generator).
public struct PcapFileWriter: ~Copyable {
    private let file: UnsafeMutablePointer<FILE>
    private let nanosecond: Bool

    public init(path: String, linkType: LinkType, nanosecond: Bool = false, snapLength: UInt32 = 262_144) throws(CaptureError) {
        guard let f = fopen(path, "wb") else { throw .writeFailed(path: path, reason: String(cString: strerror(errno))) }
        file = f
        self.nanosecond = nanosecond
        var hdr = [UInt8]()
        func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { hdr.append(contentsOf: $0) } }
        func le16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { hdr.append(contentsOf: $0) } }
        le32(nanosecond ? 0xA1B23C4D : 0xA1B2C3D4); le16(2); le16(4); le32(0); le32(0)
        le32(snapLength); le32(UInt32(bitPattern: linkType.dlt))
        fwrite(hdr, 1, hdr.count, f)
    }

    public func write(_ frame: [UInt8], at ts: Timestamp, wireLength: Int? = nil) {
        var hdr = [UInt8]()
        hdr.reserveCapacity(16)
        func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { hdr.append(contentsOf: $0) } }
        let secs = ts.nanoseconds / 1_000_000_000
        let frac = ts.nanoseconds % 1_000_000_000
        le32(UInt32(truncatingIfNeeded: secs))
        le32(UInt32(truncatingIfNeeded: nanosecond ? frac : frac / 1000))
        le32(UInt32(frame.count)); le32(UInt32(wireLength ?? frame.count))
        fwrite(hdr, 1, hdr.count, file)
        fwrite(frame, 1, frame.count, file)
    }

    /// Flushes and closes the file now rather than at the end of the owner's scope.
    public consuming func close() {
        fclose(file)
        discard self
    }

    deinit { fclose(file) }
}

/// Text of a libpcap error buffer up to its terminating NUL.
private func errorText(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
