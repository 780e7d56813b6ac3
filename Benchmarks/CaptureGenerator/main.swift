import PacketCapture
import TestSupport
import Foundation

// Writes the benchmark captures: realistic FTP traffic with 1448-byte segments and delayed
// ACKs, many connections interleaved.
//   capture-generator data OUT.pcap MEGABYTES        passive/active transfers (most bytes are data)
//   capture-generator control OUT.pcap SESSIONS CONCURRENT   short sessions, multi-line replies, pipelining
//   capture-generator mixed OUT.pcap MEGABYTES       FTP transfers among HTTP and TLS connections
//                                                    (two thirds of the bytes are not FTP)
//   capture-generator long OUT.pcap SESSIONS EXCHANGES  sessions all open at once for hours,
//                                                    polling (what a report holds per open session)
//   capture-generator ftps OUT.pcap MEGABYTES        FTPS: AUTH TLS, then PROT P transfers, half
//                                                    over TLS 1.3 AES-GCM, half over TLS 1.2 AES-CBC;
//                                                    the key log beside it as OUT.keys

let args = CommandLine.arguments
guard args.count >= 4, let n = Int(args[3]) else {
    print("usage: capture-generator data|mixed|ftps OUT.pcap MEGABYTES | control OUT.pcap SESSIONS [CONCURRENT] | long OUT.pcap SESSIONS EXCHANGES | mirror OUT.pcap SESSIONS FILES")
    exit(64)
}

struct Generator: ~Copyable {
    let writer: PcapFileWriter
    var clock: Int64 = 1_763_800_000_000_000_000
    var packets = 0
    var bytes = 0

    init(path: String) throws { writer = try PcapFileWriter(path: path, linkType: .ethernet) }

    /// Merges the conversations by their own clocks (all start together), so many are open
    /// at once as on a busy link and every packet still follows what caused it.
    mutating func interleave(_ conversations: [Conversation]) {
        var all: [(Int64, Int, Int)] = []
        for (i, c) in conversations.enumerated() {
            for (j, p) in c.packets.enumerated() { all.append((p.timestamp.nanoseconds, i, j)) }
        }
        all.sort { ($0.0, $0.1, $0.2) < ($1.0, $1.1, $1.2) }
        var last: Int64 = 0
        for (t, i, j) in all {
            let p = conversations[i].packets[j]
            writer.write(p.frame, at: Timestamp(nanoseconds: clock + t))
            packets += 1; bytes += p.frame.count
            last = t
        }
        clock += last + 1_000_000
    }
}

func address(_ i: Int, net: UInt32) -> IPAddress { .v4(net | UInt32(i & 0xFFFF)) }

/// A ProFTPD-like login to binary mode, 50 µs between packets.
func logIn(_ c: inout Conversation, as user: String) {
    c.step = 50_000
    c.handshake()
    c.server("220 ProFTPD Server ready.\r\n")
    c.client("USER \(user)\r\n"); c.server("331 Password required for \(user)\r\n")
    c.client("PASS secret\r\n"); c.server("230 User \(user) logged in\r\n")
    c.client("TYPE I\r\n"); c.server("200 Type set to I\r\n")
}

func ftpSession(_ id: Int, transferBytes: Int, active: Bool) -> [Conversation] {
    let client = Endpoint(address(id, net: 0x0A00_0000), UInt16(20_000 + id % 40_000))
    let server = Endpoint(address(id % 64, net: 0xC000_0200), 21)
    var c = Conversation(client: client, server: server, clientISN: UInt32(truncatingIfNeeded: id &* 7919),
                         serverISN: UInt32(truncatingIfNeeded: id &* 104_729), start: Int64(id % 64) * 150_000)
    logIn(&c, as: "user\(id)")
    let dataPort = UInt16(30_000 + id % 20_000)
    var data: Conversation
    if active {
        let h = client.address.description.replacingOccurrences(of: ".", with: ",")
        c.client("PORT \(h),\(dataPort >> 8),\(dataPort & 0xFF)\r\n"); c.server("200 PORT command successful\r\n")
        data = Conversation(client: Endpoint(server.address, 20), server: Endpoint(client.address, dataPort), start: c.clock)
    } else {
        let h = server.address.description.replacingOccurrences(of: ".", with: ",")
        c.client("PASV\r\n"); c.server("227 Entering Passive Mode (\(h),\(dataPort >> 8),\(dataPort & 0xFF)).\r\n")
        data = Conversation(client: Endpoint(client.address, UInt16(50_000 + id % 10_000)), server: Endpoint(server.address, dataPort), start: c.clock)
    }
    data.step = 10_000
    if !active { data.handshake(); c.clock = data.clock }
    c.client("RETR file\(id).bin\r\n")
    if active { data.clock = c.clock; data.handshake(); c.clock = data.clock }
    c.server("150 Opening BINARY mode data connection for file\(id).bin (\(transferBytes) bytes)\r\n")
    // Data flows from the FTP server: the data connection's "server" side in passive mode,
    // its "client" side in active mode (the server connected out from port 20).
    data.clock = c.clock
    let chunk = [UInt8](repeating: 0x5A, count: 1448)
    var sent = 0
    while sent < transferBytes {
        let n = min(1448, transferBytes - sent)
        data.send(n == 1448 ? chunk : Array(chunk.prefix(n)), fromClient: active, segment: 1448)
        sent += n
        if (sent / 1448) % 2 == 0 { data.ack(fromClient: !active) }
    }
    data.close()
    c.clock = data.clock
    c.server("226 Transfer complete\r\n")
    c.client("QUIT\r\n"); c.server("221 Goodbye.\r\n")
    c.close()
    return [c, data]
}

/// A mirroring client (`lftp mirror`, a backup job): one control connection that downloads
/// `files` small files in turn, each over a passive data connection of its own.
func mirrorSession(_ id: Int, files: Int) -> [Conversation] {
    let client = Endpoint(address(id, net: 0x0A00_0000), UInt16(20_000 + id % 40_000))
    let server = Endpoint(address(id % 64, net: 0xC000_0200), 21)
    var c = Conversation(client: client, server: server, start: Int64(id % 64) * 150_000)
    logIn(&c, as: "mirror")
    var all: [Conversation] = []
    let body = [UInt8](repeating: 0x5A, count: 1000)
    for f in 0..<files {
        let dataPort = UInt16(30_000 + f % 20_000)
        let h = server.address.description.replacingOccurrences(of: ".", with: ",")
        c.client("PASV\r\n"); c.server("227 Entering Passive Mode (\(h),\(dataPort >> 8),\(dataPort & 0xFF)).\r\n")
        var data = Conversation(client: Endpoint(client.address, UInt16(40_000 + f % 20_000)), server: Endpoint(server.address, dataPort),
                                clientISN: UInt32(truncatingIfNeeded: f &* 7919), start: c.clock)
        data.step = 10_000
        data.handshake(); c.clock = data.clock
        c.client("RETR dir\(f / 100)/file\(f).bin\r\n")
        c.server("150 Opening BINARY mode data connection for file\(f).bin (1000 bytes)\r\n")
        data.clock = c.clock
        data.serverBytes(body)
        data.close()
        c.clock = data.clock
        c.server("226 Transfer complete\r\n")
        all.append(data)
    }
    c.client("QUIT\r\n"); c.server("221 Goodbye.\r\n")
    c.close()
    return [c] + all
}

/// An FTPS session (RFC 4217): clear until AUTH TLS, then every reply, command and the
/// download inside TLS, the data connection a TLS connection of its own with the FTP client as
/// the TLS client. Even sessions use TLS 1.3 with AES-128-GCM, odd ones TLS 1.2 with AES-CBC
/// and HMAC-SHA1 (encrypt-then-MAC). `keyLog` gets both connections' secrets.
func ftpsSession(_ id: Int, transferBytes: Int, keyLog: inout String) -> [Conversation] {
    let client = Endpoint(address(id, net: 0x0A30_0000), UInt16(20_000 + id % 40_000))
    let server = Endpoint(address(id % 64, net: 0xC000_0300), 21)
    var c = Conversation(client: client, server: server, clientISN: UInt32(truncatingIfNeeded: id &* 7919),
                         serverISN: UInt32(truncatingIfNeeded: id &* 104_729), start: Int64(id % 64) * 150_000)
    c.step = 50_000
    let protection: TLSSealer.Protection = id % 2 == 0 ? .tls13AES128GCM : .tls12AES128CBCSHA
    var tls = TLSSealer(protection, seed: 2 * id)
    keyLog += tls.keyLogLines
    c.handshake()
    c.server("220 ProFTPD Server ready.\r\n")
    c.client("AUTH TLS\r\n"); c.server("234 AUTH TLS successful\r\n")
    c.clientBytes(tls.clientHello); c.serverBytes(tls.serverFlight()); c.clientBytes(tls.clientFinished())
    func exchange(_ command: String, _ reply: String) {
        c.clientBytes(tls.seal(Array(command.utf8), fromClient: true))
        c.serverBytes(tls.seal(Array(reply.utf8), fromClient: false))
    }
    exchange("USER user\(id)\r\n", "331 Password required for user\(id)\r\n")
    exchange("PASS secret\r\n", "230 User user\(id) logged in\r\n")
    exchange("PBSZ 0\r\n", "200 PBSZ 0 successful\r\n")
    exchange("PROT P\r\n", "200 Protection set to Private\r\n")
    exchange("TYPE I\r\n", "200 Type set to I\r\n")
    let dataPort = UInt16(30_000 + id % 20_000)
    let h = server.address.description.replacingOccurrences(of: ".", with: ",")
    exchange("PASV\r\n", "227 Entering Passive Mode (\(h),\(dataPort >> 8),\(dataPort & 0xFF)).\r\n")
    var data = Conversation(client: Endpoint(client.address, UInt16(50_000 + id % 10_000)), server: Endpoint(server.address, dataPort), start: c.clock)
    data.step = 10_000
    data.handshake(); c.clock = data.clock
    exchange("RETR file\(id).bin\r\n", "150 Opening BINARY mode data connection for file\(id).bin (\(transferBytes) bytes)\r\n")
    data.clock = c.clock
    var dataTLS = TLSSealer(protection, seed: 2 * id + 1)
    keyLog += dataTLS.keyLogLines
    data.clientBytes(dataTLS.clientHello); data.serverBytes(dataTLS.serverFlight()); data.clientBytes(dataTLS.clientFinished())
    let records = dataTLS.seal([UInt8](repeating: 0x5A, count: transferBytes), fromClient: false)
    var sent = 0
    while sent < records.count {
        let n = min(1448, records.count - sent)
        data.send(Array(records[sent..<sent + n]), fromClient: false, segment: 1448)
        sent += n
        if (sent / 1448) % 2 == 0 { data.ack(fromClient: true) }
    }
    data.close()
    c.clock = data.clock
    c.serverBytes(tls.seal(Array("226 Transfer complete\r\n".utf8), fromClient: false))
    exchange("QUIT\r\n", "221 Goodbye.\r\n")
    c.close()
    return [c, data]
}

/// A connection that is not FTP, to a port ftpscope does not know, so that detection has to
/// look at it: an HTTP download (the client speaks first, with a word FTP could also start
/// with) or a TLS one (binary records from the first byte). Either carries `bodyBytes` from the
/// server in 1448-byte segments with delayed ACKs.
func otherConnection(_ id: Int, bodyBytes: Int, tls: Bool) -> Conversation {
    let client = Endpoint(address(id, net: 0x0A40_0000), UInt16(10_000 + id % 50_000))
    let server = Endpoint(address(id % 32, net: 0xCB00_7100), tls ? 443 : 8080)
    var c = Conversation(client: client, server: server, clientISN: UInt32(truncatingIfNeeded: id &* 6007),
                         serverISN: UInt32(truncatingIfNeeded: id &* 99_991), start: Int64(id % 64) * 120_000)
    c.step = 10_000
    c.handshake()
    if tls {
        // A ClientHello-sized handshake record, the server's flight, then application data.
        c.clientBytes([0x16, 0x03, 0x01, 0x02, 0x00] + [UInt8](repeating: 0x01, count: 512))
        c.serverBytes([0x16, 0x03, 0x03, 0x0F, 0xFB] + [UInt8](repeating: 0x02, count: 4091))
        c.clientBytes([0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0x17, 0x03, 0x03, 0x00, 0x40] + [UInt8](repeating: 0x03, count: 64))
    } else {
        c.client("GET /files/\(id).bin HTTP/1.1\r\nHost: mirror.example\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
        c.server("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: \(bodyBytes)\r\n\r\n")
    }
    let chunk = [UInt8](repeating: tls ? 0x17 : 0x48, count: 1448)
    var sent = 0
    while sent < bodyBytes {
        let n = min(1448, bodyBytes - sent)
        c.serverBytes(n == 1448 ? chunk : Array(chunk.prefix(n)), segment: 1448)
        sent += n
        if (sent / 1448) % 2 == 0 { c.ack(fromClient: true) }
    }
    c.close()
    return c
}

/// `concurrent` sessions start within a few tens of milliseconds and each lasts longer than
/// that, so all of a batch are open at once.
func controlSession(_ id: Int, concurrent: Int) -> Conversation {
    let client = Endpoint(address(id, net: 0x0A10_0000 | UInt32((id >> 16) & 0xFF) << 16), UInt16(1024 + id % 60_000))
    let server = Endpoint(address(id % 256, net: 0xC633_6400), id % 3 == 0 ? 2121 : 21)
    var c = Conversation(client: client, server: server, clientISN: UInt32(truncatingIfNeeded: id &* 7919),
                         serverISN: UInt32(truncatingIfNeeded: id &* 15_485_863), start: Int64(id % concurrent) * 500)
    c.step = 10_000_000
    c.handshake()
    c.server("220-Welcome to the benchmark server\r\n220-Usage is logged.\r\n220 Ready\r\n")
    c.client("USER anonymous\r\nPASS guest@\r\n")          // pipelined
    c.server("331 Guest login ok, send your email as password.\r\n230-Guest login ok.\r\n230 Access restrictions apply.\r\n")
    c.client("FEAT\r\n")
    c.server("211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n MLST type*;size*;modify*;\r\n REST STREAM\r\n SIZE\r\n UTF8\r\n211 End\r\n")
    c.client("SYST\r\nPWD\r\nCWD /pub\r\n")
    c.server("215 UNIX Type: L8\r\n257 \"/\" is the current directory\r\n250 CWD command successful\r\n")
    c.client("SIZE missing\(id)\r\n"); c.server("550 missing\(id): No such file or directory\r\n")
    c.client("QUIT\r\n"); c.server("221 Goodbye.\r\n")
    c.close()
    return c
}

/// A client that stays logged in and polls: a status, a size and a listing check every few
/// seconds, a few of them failing.
func longSession(_ id: Int, exchanges: Int) -> Conversation {
    let client = Endpoint(address(id, net: 0x0A20_0000), UInt16(30_000 + id % 30_000))
    let server = Endpoint(address(id % 16, net: 0xC633_6500), 21)
    var c = Conversation(client: client, server: server, clientISN: UInt32(truncatingIfNeeded: id &* 7919),
                         serverISN: UInt32(truncatingIfNeeded: id &* 15_485_863), start: Int64(id) * 7_000_000)
    c.step = 1_000_000_000
    c.handshake()
    c.server("220 ProFTPD Server (monitoring) ready.\r\n")
    c.client("USER probe\(id)\r\n"); c.server("331 Password required for probe\(id)\r\n")
    c.client("PASS secret\r\n"); c.server("230 User probe\(id) logged in\r\n")
    for i in 0..<max(0, exchanges - 3) {
        switch i % 4 {
        case 0: c.client("NOOP\r\n"); c.server("200 NOOP command successful\r\n")
        case 1: c.client("SIZE /data/feed-\(i % 97).csv\r\n")
            c.server(i % 20 == 1 ? "550 /data/feed-\(i % 97).csv: No such file or directory\r\n" : "213 \(1_000 + i * 37 % 90_000)\r\n")
        case 2: c.client("MDTM /data/feed-\(i % 97).csv\r\n"); c.server("213 20261124\(String(100_000 + i % 86_400).suffix(6))\r\n")
        default: c.client("STAT\r\n"); c.server("211-Status of 'ProFTPD'\r\n Connected from 10.32.0.\(id % 250)\r\n Logged in as probe\(id)\r\n TYPE: BINARY, STRUcture: File, Mode: Stream\r\n211 End of status\r\n")
        }
    }
    c.client("QUIT\r\n"); c.server("221 Goodbye.\r\n")
    c.close()
    return c
}

var g = try Generator(path: args[2])
switch args[1] {
case "data":
    // ~500 KB per transfer; 64 sessions open at once.
    let perTransfer = 500_000
    let sessions = max(1, n * 1_000_000 / perTransfer)
    var id = 0
    while id < sessions {
        let batch = (id..<min(sessions, id + 64)).flatMap { ftpSession($0, transferBytes: perTransfer, active: $0 % 4 == 0) }
        g.interleave(batch)
        id += 64
    }
case "control":
    let concurrent = args.count > 4 ? Int(args[4]) ?? 1000 : 1000
    var id = 0
    while id < n {
        g.interleave((id..<min(n, id + concurrent)).map { controlSession($0, concurrent: concurrent) })
        id += concurrent
    }
case "mixed":
    // Per FTP transfer of ~250 KB, an HTTP and a TLS download of the same size; 64 FTP
    // sessions (with their data connections) and 128 other connections open at once.
    let each = 250_000
    let sessions = max(1, n * 1_000_000 / (3 * each))
    var id = 0
    while id < sessions {
        let ids = id..<min(sessions, id + 64)
        var batch = ids.flatMap { ftpSession($0, transferBytes: each, active: $0 % 4 == 0) }
        batch += ids.flatMap { [otherConnection(2 * $0, bodyBytes: each, tls: false), otherConnection(2 * $0 + 1, bodyBytes: each, tls: true)] }
        g.interleave(batch)
        id += 64
    }
case "ftps":
    // ~500 KB per transfer, 64 sessions open at once, as the data-heavy capture.
    let perTransfer = 500_000
    let sessions = max(1, n * 1_000_000 / perTransfer)
    var keyLog = ""
    var id = 0
    while id < sessions {
        let batch = (id..<min(sessions, id + 64)).flatMap { ftpsSession($0, transferBytes: perTransfer, keyLog: &keyLog) }
        g.interleave(batch)
        id += 64
    }
    let keys = (args[2].hasSuffix(".pcap") ? String(args[2].dropLast(5)) : args[2]) + ".keys"
    try keyLog.write(toFile: keys, atomically: true, encoding: .utf8)
case "mirror":
    guard args.count > 4, let files = Int(args[4]) else { print("mirror needs SESSIONS FILES"); exit(64) }
    g.interleave((0..<n).flatMap { mirrorSession($0, files: files) })
case "long":
    guard args.count > 4, let exchanges = Int(args[4]) else { print("long needs SESSIONS EXCHANGES"); exit(64) }
    g.interleave((0..<n).map { longSession($0, exchanges: exchanges) })
default:
    print("unknown kind \(args[1])"); exit(64)
}
print("\(args[2]): \(g.packets) packets, \(g.bytes / 1_000_000) MB of frames")
