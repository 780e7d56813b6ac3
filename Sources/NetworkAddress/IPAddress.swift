/// An IPv4 or IPv6 address held as plain integers so that flow keys hash and compare
/// without allocating.
public enum IPAddress: Hashable, Sendable, Comparable {
    case v4(UInt32)
    case v6(UInt64, UInt64)

    public init(v4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self = .v4(UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d))
    }

    /// Reads 4 or 16 network-order bytes.
    public init?(bytes: some Collection<UInt8>) {
        switch bytes.count {
        case 4:
            var v: UInt32 = 0
            for b in bytes { v = v << 8 | UInt32(b) }
            self = .v4(v)
        case 16:
            var hi: UInt64 = 0, lo: UInt64 = 0
            for (i, b) in bytes.enumerated() {
                if i < 8 { hi = hi << 8 | UInt64(b) } else { lo = lo << 8 | UInt64(b) }
            }
            self = .v6(hi, lo)
        default:
            return nil
        }
    }

    /// Parses dotted-quad IPv4 or RFC 4291 text IPv6 (with `::` and an embedded IPv4 tail).
    public init?(_ text: some StringProtocol) {
        if text.contains(":") {
            guard let v = IPAddress.parseV6(Substring(text)) else { return nil }
            self = v
        } else {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var v: UInt32 = 0
            for p in parts {
                guard !p.isEmpty, p.count <= 3, let n = UInt32(p), n <= 255 else { return nil }
                v = v << 8 | n
            }
            self = .v4(v)
        }
    }

    private static func parseV6(_ text: Substring) -> IPAddress? {
        var groups: [UInt16] = []
        var tailGroups: [UInt16] = []
        var seenDoubleColon = false
        var halves: [String] = []
        var rest = text[...]
        while let r = rest.firstRange(of: "::") {
            halves.append(String(rest[..<r.lowerBound])); rest = rest[r.upperBound...]
        }
        halves.append(String(rest))
        guard halves.count <= 2 else { return nil }
        func parseGroups(_ s: String, into out: inout [UInt16]) -> Bool {
            if s.isEmpty { return true }
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                if i == parts.count - 1, p.contains("."), case .v4(let v)? = IPAddress(p) {
                    out.append(UInt16(v >> 16)); out.append(UInt16(v & 0xFFFF))
                    continue
                }
                guard !p.isEmpty, p.count <= 4, let g = UInt16(p, radix: 16) else { return false }
                out.append(g)
            }
            return true
        }
        guard parseGroups(halves[0], into: &groups) else { return nil }
        if halves.count == 2 {
            seenDoubleColon = true
            guard parseGroups(halves[1], into: &tailGroups) else { return nil }
        }
        let total = groups.count + tailGroups.count
        if seenDoubleColon { guard total < 8 else { return nil } } else { guard total == 8 else { return nil } }
        let all = groups + Array(repeating: 0, count: 8 - total) + tailGroups
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(all[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(all[i]) }
        return .v6(hi, lo)
    }

    public var isIPv6: Bool { if case .v6 = self { return true } else { return false } }

    /// Network-order bytes: 4 for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let v): return (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32($0))) }
        case .v6(let hi, let lo):
            return (0..<8).map { UInt8(truncatingIfNeeded: hi >> (56 - 8 * UInt64($0))) }
                + (0..<8).map { UInt8(truncatingIfNeeded: lo >> (56 - 8 * UInt64($0))) }
        }
    }

    public static func < (l: IPAddress, r: IPAddress) -> Bool {
        switch (l, r) {
        case (.v4(let a), .v4(let b)): return a < b
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let a1, let a2), .v6(let b1, let b2)): return (a1, a2) < (b1, b2)
        }
    }
}

extension IPAddress: CustomStringConvertible {
    /// IPv6 text follows RFC 5952: lowercase, longest zero run compressed.
    public var description: String {
        switch self {
        case .v4(let v):
            return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
        case .v6(let hi, let lo):
            var g = [UInt16](repeating: 0, count: 8)
            for i in 0..<4 { g[i] = UInt16(truncatingIfNeeded: hi >> (48 - 16 * UInt64(i))) }
            for i in 0..<4 { g[4 + i] = UInt16(truncatingIfNeeded: lo >> (48 - 16 * UInt64(i))) }
            var bestStart = -1, bestLen = 0, i = 0
            while i < 8 {
                if g[i] == 0 {
                    var j = i
                    while j < 8 && g[j] == 0 { j += 1 }
                    if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                    i = j
                } else { i += 1 }
            }
            func hex(_ r: Range<Int>) -> String { r.map { String(g[$0], radix: 16) }.joined(separator: ":") }
            if bestStart < 0 { return hex(0..<8) }
            return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
        }
    }
}

/// An address and TCP port.
public struct Endpoint: Hashable, Sendable, Comparable {
    public var address: IPAddress
    public var port: UInt16
    public init(_ address: IPAddress, _ port: UInt16) { self.address = address; self.port = port }

    public static func < (l: Endpoint, r: Endpoint) -> Bool {
        l.address == r.address ? l.port < r.port : l.address < r.address
    }
}

extension Endpoint: CustomStringConvertible {
    /// IPv6 endpoints are bracketed (`[::1]:2121`) so the port cannot be mistaken for a group.
    public var description: String {
        address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }

    /// The longest `description`: `[` 39 characters of IPv6 `]:65535`.
    public static let maxTextLength = 47

    /// Writes `description` as UTF-8 (at most `maxTextLength` bytes) and returns its length;
    /// IPv4 (every session of a busy capture renders two) digit by digit, without strings.
    public func writeText(to p: UnsafeMutablePointer<UInt8>) -> Int {
        guard case .v4(let v) = address else {
            var text = description
            return text.withUTF8 { utf8 in
                let n = min(utf8.count, Self.maxTextLength)
                p.update(from: utf8.baseAddress!, count: n)
                return n
            }
        }
        var n = 0
        // At most five digits, most significant first, without a division for digits not there.
        @inline(__always) func decimal(_ x: UInt32) {
            if x >= 10_000 { p[n] = UInt8(48 + x / 10_000); n += 1 }
            if x >= 1_000 { p[n] = UInt8(48 + x / 1_000 % 10); n += 1 }
            if x >= 100 { p[n] = UInt8(48 + x / 100 % 10); n += 1 }
            if x >= 10 { p[n] = UInt8(48 + x / 10 % 10); n += 1 }
            p[n] = UInt8(48 + x % 10); n += 1
        }
        decimal(v >> 24); p[n] = 0x2E; n += 1
        decimal(v >> 16 & 0xFF); p[n] = 0x2E; n += 1
        decimal(v >> 8 & 0xFF); p[n] = 0x2E; n += 1
        decimal(v & 0xFF); p[n] = 0x3A; n += 1
        decimal(UInt32(port))
        return n
    }
}
