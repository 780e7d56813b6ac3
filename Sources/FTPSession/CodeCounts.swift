/// Reply counts by code, packed (code in the high bits, count in the low) and kept in code
/// order. The first eight codes live inline, in the session object itself: a session sees a
/// handful of distinct codes, and a separate buffer was one more cache miss per reply with
/// 100,000 sessions open. A session that sees more spills to an array.
public struct CodeCounts: Sendable {
    // Inline entries are 32 bits (code in the top 10, count in the low 22): sixteen distinct
    // codes in the 64 bytes that held eight, and a session sees 8 to 14 (a full login, FEAT,
    // PASV and a transfer is already nine). A count that would overflow spills too.
    private typealias Inline = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32,
                                UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    private var inline: Inline = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var inlineCount = 0
    private var spilled: [UInt64]?
    private static let mask: UInt64 = (1 << 48) - 1
    private static let inlineMask: UInt32 = (1 << 22) - 1
    private static let inlineCapacity = 16

    public init() {}

    /// Finds the code's entry or its place in order (the scan that finds a code also finds
    /// where a new one goes), so records read them sorted without sorting.
    mutating func add(_ code: Int) {
        let c = UInt32(max(0, min(code, 999)))
        if spilled == nil {
            let n = inlineCount
            // 0: counted, 1: inserted, 2: no room (or a count at its inline limit).
            let outcome = withUnsafeMutableBytes(of: &inline) { raw -> Int in
                let p = raw.baseAddress!.assumingMemoryBound(to: UInt32.self)
                var i = 0
                while i < n {
                    let k = p[i] >> 22
                    if k == c {
                        guard p[i] & Self.inlineMask < Self.inlineMask else { return 2 }
                        p[i] += 1
                        return 0
                    }
                    if k > c { break }
                    i += 1
                }
                guard n < Self.inlineCapacity else { return 2 }
                var j = n
                while j > i { p[j] = p[j - 1]; j -= 1 }
                p[i] = c << 22 | 1
                return 1
            }
            if outcome < 2 { inlineCount += outcome; return }
            var wide: [UInt64] = []
            wide.reserveCapacity(Self.inlineCapacity * 2)
            withUnsafeBytes(of: inline) { raw in
                let p = raw.baseAddress!.assumingMemoryBound(to: UInt32.self)
                for i in 0..<inlineCount { wide.append(UInt64(p[i] >> 22) << 48 | UInt64(p[i] & Self.inlineMask)) }
            }
            spilled = wide
        }
        var i = 0
        while i < spilled!.count {
            let k = spilled![i] >> 48
            if k == UInt64(c) { spilled![i] += 1; return }
            if k > UInt64(c) { break }
            i += 1
        }
        spilled!.insert(UInt64(c) << 48 | 1, at: i)
    }

    /// Every packed entry (code in the top 16 bits, count in the low 48) in code order.
    private func forEachPacked(_ body: (UInt64) -> Void) {
        if let spilled {
            for p in spilled { body(p) }
        } else {
            withUnsafeBytes(of: inline) { raw in
                let p = raw.baseAddress!.assumingMemoryBound(to: UInt32.self)
                for i in 0..<inlineCount { body(UInt64(p[i] >> 22) << 48 | UInt64(p[i] & Self.inlineMask)) }
            }
        }
    }

    /// How many distinct codes were counted.
    public var distinct: Int { spilled?.count ?? inlineCount }

    /// Each code seen and its count, by ascending code.
    public func forEachCode(_ body: (_ code: Int, _ count: Int) -> Void) {
        forEachPacked { body(Int($0 >> 48), Int($0 & Self.mask)) }
    }

    /// Each first digit seen and the count of its codes, ascending.
    public func forEachClass(_ body: (_ digit: Int, _ count: Int) -> Void) {
        var digit = -1, n = 0
        forEachPacked { p in
            let d = Int(p >> 48) / 100
            if d != digit {
                if n > 0 { body(digit, n) }
                digit = d; n = 0
            }
            n += Int(p & Self.mask)
        }
        if n > 0 { body(digit, n) }
    }

    /// Counts indexed by the code's first digit.
    public var byFirstDigit: [Int] {
        var counts = [Int](repeating: 0, count: 10)
        forEachClass { counts[$0] += $1 }
        return counts
    }

    public var byCode: [Int: Int] {
        var out: [Int: Int] = [:]
        forEachCode { out[$0] = $1 }
        return out
    }

    public var byClass: [String: Int] { classLabels(byFirstDigit) }
}

/// `["2xx": 5, …]` from counts indexed by first digit.
func classLabels(_ counts: [Int]) -> [String: Int] {
    var d: [String: Int] = [:]
    for (i, n) in counts.enumerated() where n > 0 { d["\(i)xx"] = n }
    return d
}
