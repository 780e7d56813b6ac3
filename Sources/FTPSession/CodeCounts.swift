/// Reply counts by code in one small packed array (code in the high bits, count in the low):
/// a session sees a handful of distinct codes, and a dictionary per open session costs more.
public struct CodeCounts: Sendable {
    private var packed: [UInt64] = []
    private static let mask: UInt64 = (1 << 48) - 1

    public init() {}

    mutating func add(_ code: Int) {
        let c = UInt64(max(0, min(code, 999)))
        for i in packed.indices where packed[i] >> 48 == c {
            packed[i] += 1
            return
        }
        // A session sees a handful of codes: room for eight at once instead of growing 1, 2, 4, 8.
        if packed.isEmpty { packed.reserveCapacity(8) }
        packed.append(c << 48 | 1)
    }

    /// (code, count) by ascending code.
    public var sorted: [(code: Int, count: Int)] {
        packed.sorted().map { (Int($0 >> 48), Int($0 & Self.mask)) }
    }

    /// Counts indexed by the code's first digit.
    public var byFirstDigit: [Int] {
        var counts = [Int](repeating: 0, count: 10)
        for p in packed { counts[Int(p >> 48) / 100] += Int(p & Self.mask) }
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
