import NetworkAddress

/// An address announced inside the protocol for a data connection, as network-order bytes.
public struct HostPort: Sendable, Equatable, Hashable {
    /// 4 bytes (IPv4) or 16 bytes (IPv6); nil when the announcement carries only a port (EPSV).
    public var host: [UInt8]?
    public var port: UInt16
    public init(host: [UInt8]?, port: UInt16) { self.host = host; self.port = port }

    public var hostText: String? { host.flatMap { IPAddress(bytes: $0)?.description } }
}

/// Why an announced address could not be decoded.
public enum AddressError: Error, Sendable, Equatable {
    /// A 227 without six numbers, or with one above 255.
    case invalid227Tuple
    case invalid229
    case invalid228
    case invalidPORT
    case invalidEPRT
    case invalidLPRT
}

import NetworkAddress

/// Decoders for PASV (227), EPSV (229, RFC 2428), LPSV (228, RFC 1639) replies and the
/// PORT, EPRT and LPRT commands.
public enum AddressDecoder {
    /// 227: the six numbers wherever the server put them — in parentheses or not, after `=`,
    /// followed by any text — as Wireshark does; unlike it, a number above 255 is an error.
    public static func decode227(_ text: [UInt8]) -> Result<HostPort, AddressError> {
        guard let numbers = findNumberRun(text, count: 6) else { return .failure(.invalid227Tuple) }
        guard numbers.allSatisfy({ $0 <= 255 }) else { return .failure(.invalid227Tuple) }
        return .success(HostPort(host: numbers[0..<4].map { UInt8($0) }, port: UInt16(numbers[4] << 8 | numbers[5])))
    }

    /// PORT h1,h2,h3,h4,p1,p2.
    public static func decodePORT(_ argument: [UInt8]) -> Result<HostPort, AddressError> {
        guard let numbers = findNumberRun(argument, count: 6), numbers.allSatisfy({ $0 <= 255 }) else {
            return .failure(.invalidPORT)
        }
        return .success(HostPort(host: numbers[0..<4].map { UInt8($0) }, port: UInt16(numbers[4] << 8 | numbers[5])))
    }

    /// 229: `(<d><d><d>port<d>)` with any delimiter from ASCII 33–126 (RFC 2428 §3).
    public static func decode229(_ text: [UInt8]) -> Result<HostPort, AddressError> {
        var i = 0
        while i + 4 < text.count {
            let d = text[i]
            if d >= 33, d <= 126, !isDigit(d), text[i + 1] == d, text[i + 2] == d {
                var j = i + 3, port = 0, digits = 0
                while j < text.count, isDigit(text[j]), digits < 6 { port = port * 10 + Int(text[j] - 48); j += 1; digits += 1 }
                if digits > 0, j < text.count, text[j] == d {
                    guard port <= 65535 else { return .failure(.invalid229) }
                    return .success(HostPort(host: nil, port: UInt16(port)))
                }
            }
            i += 1
        }
        return .failure(.invalid229)
    }

    /// EPRT `<d>af<d>address<d>port<d>` (RFC 2428 §2): af 1 is IPv4, 2 is IPv6.
    public static func decodeEPRT(_ argument: [UInt8]) -> Result<HostPort, AddressError> {
        guard let d = argument.first, d >= 33, d <= 126 else { return .failure(.invalidEPRT) }
        let fields = argument.split(separator: d, omittingEmptySubsequences: false)
        guard fields.count >= 5, fields[0].isEmpty else { return .failure(.invalidEPRT) }
        let af = String(decoding: fields[1], as: UTF8.self)
        let addressText = String(decoding: fields[2], as: UTF8.self)
        guard let port = UInt16(String(decoding: fields[3], as: UTF8.self)) else { return .failure(.invalidEPRT) }
        // The family number must agree with the address written after it.
        guard let address = IPAddress(addressText), (af == "1" && !address.isIPv6) || (af == "2" && address.isIPv6) else {
            return .failure(.invalidEPRT)
        }
        return .success(HostPort(host: address.bytes, port: port))
    }

    /// 228 LPSV reply: `(af,hal,h1,…,hn,pal,p1,…,pn)`; af 4 with 4 address bytes, 6 with 16.
    public static func decode228(_ text: [UInt8]) -> Result<HostPort, AddressError> {
        decodeLong(text).mapError { _ in .invalid228 }
    }

    /// LPRT command, same encoding as the 228 reply.
    public static func decodeLPRT(_ argument: [UInt8]) -> Result<HostPort, AddressError> {
        decodeLong(argument).mapError { _ in .invalidLPRT }
    }

    private static func decodeLong(_ text: [UInt8]) -> Result<HostPort, AddressError> {
        // The shortest form is IPv4: af, hal, 4 bytes, pal, 2 bytes = 9 numbers.
        for count in [9, 21] {
            guard let n = findNumberRun(text, count: count, exact: true) else { continue }
            guard n.allSatisfy({ $0 <= 255 }) else { return .failure(.invalid228) }
            let af = n[0], hal = n[1]
            guard (af == 4 && hal == 4 && count == 9) || (af == 6 && hal == 16 && count == 21) else { continue }
            let pal = n[2 + hal]
            guard pal == 2 else { return .failure(.invalid228) }
            let host = n[2..<(2 + hal)].map { UInt8($0) }
            return .success(HostPort(host: host, port: UInt16(n[3 + hal] << 8 | n[4 + hal])))
        }
        return .failure(.invalid228)
    }

    /// Finds the first run of `count` comma-separated decimal numbers (spaces allowed around
    /// commas). Values are clamped at 9999 so absurd digit strings cannot overflow. With
    /// `exact`, the run must not continue with a further comma-number.
    static func findNumberRun(_ text: [UInt8], count: Int, exact: Bool = false) -> [Int]? {
        var start = 0
        while start < text.count {
            guard isDigit(text[start]), start == 0 || !isDigit(text[start - 1]) else { start += 1; continue }
            var numbers: [Int] = []
            var i = start
            while numbers.count < count {
                var v = 0, digits = 0
                while i < text.count, isDigit(text[i]) { v = min(v * 10 + Int(text[i] - 48), 9999); i += 1; digits += 1 }
                guard digits > 0 else { break }
                numbers.append(v)
                if numbers.count == count { break }
                var j = i
                while j < text.count, text[j] == 0x20 { j += 1 }
                guard j < text.count, text[j] == 0x2C else { break }
                j += 1
                while j < text.count, text[j] == 0x20 { j += 1 }
                i = j
            }
            if numbers.count == count {
                if exact {
                    var j = i
                    while j < text.count, text[j] == 0x20 { j += 1 }
                    if j < text.count, text[j] == 0x2C { start = i; continue }
                }
                return numbers
            }
            start += 1
        }
        return nil
    }
}
