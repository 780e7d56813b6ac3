/// Reply counts by code in one small packed array (code in the high bits, count in the low):
/// a session sees a handful of distinct codes, and a dictionary per open session costs more.
public struct CodeCounts: Sendable {
    private var packed: [UInt64] = []
    private static let mask: UInt64 = (1 << 48) - 1

    public init() {}

    /// Kept in code order as they come (a session sees a handful of codes, so the scan that
    /// finds a code also finds where a new one goes): records read them sorted without sorting.
    mutating func add(_ code: Int) {
        let c = UInt64(max(0, min(code, 999)))
        var i = 0
        while i < packed.count {
            let k = packed[i] >> 48
            if k == c { packed[i] += 1; return }
            if k > c { break }
            i += 1
        }
        // Room for eight at once instead of growing 1, 2, 4, 8.
        if packed.isEmpty { packed.reserveCapacity(8) }
        packed.insert(c << 48 | 1, at: i)
    }

    /// Each code seen and its count, by ascending code.
    public func forEachCode(_ body: (_ code: Int, _ count: Int) -> Void) {
        for p in packed { body(Int(p >> 48), Int(p & Self.mask)) }
    }

    /// Each first digit seen and the count of its codes, ascending.
    public func forEachClass(_ body: (_ digit: Int, _ count: Int) -> Void) {
        var digit = -1, n = 0
        for p in packed {
            let d = Int(p >> 48) / 100
            if d != digit {
                if n > 0 { body(digit, n) }
                digit = d; n = 0
            }
            n += Int(p & Self.mask)
        }
        if n > 0 { body(digit, n) }
    }

    /// (code, count) by ascending code.
    public var sorted: [(code: Int, count: Int)] {
        packed.map { (Int($0 >> 48), Int($0 & Self.mask)) }
    }

    /// Counts indexed by the code's first digit.
    public var byFirstDigit: [Int] {
        var counts = [Int](repeating: 0, count: 10)
        forEachClass { counts[$0] += $1 }
        return counts
    }

    public var byCode: [Int: Int] {
        Dictionary(uniqueKeysWithValues: packed.map { (Int($0 >> 48), Int($0 & Self.mask)) })
    }

    public var byClass: [String: Int] { classLabels(byFirstDigit) }
}

/// `["2xx": 5, …]` from counts indexed by first digit.
func classLabels(_ counts: [Int]) -> [String: Int] {
    var d: [String: Int] = [:]
    for (i, n) in counts.enumerated() where n > 0 { d["\(i)xx"] = n }
    return d
}
