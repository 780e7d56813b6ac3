/// Reply counts by code, packed (code in the high bits, count in the low) and kept in code
/// order. The first eight codes live inline, in the session object itself: a session sees a
/// handful of distinct codes, and a separate buffer was one more cache miss per reply with
/// 100,000 sessions open. A session that sees more spills to an array.
public struct CodeCounts: Sendable {
    private typealias Inline = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    private var inline: Inline = (0, 0, 0, 0, 0, 0, 0, 0)
    private var inlineCount = 0
    private var spilled: [UInt64]?
    private static let mask: UInt64 = (1 << 48) - 1
    private static let inlineCapacity = 8

    public init() {}

    /// Finds the code's entry or its place in order (the scan that finds a code also finds
    /// where a new one goes), so records read them sorted without sorting.
    mutating func add(_ code: Int) {
        let c = UInt64(max(0, min(code, 999)))
        if spilled == nil {
            enum Outcome { case counted, inserted, full }
            let n = inlineCount
            let outcome = withUnsafeMutableBytes(of: &inline) { raw -> Outcome in
                let p = raw.bindMemory(to: UInt64.self)
                var i = 0
                while i < n {
                    let k = p[i] >> 48
                    if k == c { p[i] += 1; return .counted }
                    if k > c { break }
                    i += 1
                }
                guard n < Self.inlineCapacity else { return .full }
                var j = n
                while j > i { p[j] = p[j - 1]; j -= 1 }
                p[i] = c << 48 | 1
                return .inserted
            }
            switch outcome {
            case .counted: return
            case .inserted: inlineCount += 1; return
            case .full: spilled = withUnsafeBytes(of: inline) { Array($0.bindMemory(to: UInt64.self)) }
            }
        }
        var i = 0
        while i < spilled!.count {
            let k = spilled![i] >> 48
            if k == c { spilled![i] += 1; return }
            if k > c { break }
            i += 1
        }
        spilled!.insert(c << 48 | 1, at: i)
    }

    /// Every packed entry in code order.
    private func forEachPacked(_ body: (UInt64) -> Void) {
        if let spilled {
            for p in spilled { body(p) }
        } else {
            withUnsafeBytes(of: inline) { raw in
                let p = raw.bindMemory(to: UInt64.self)
                for i in 0..<inlineCount { body(p[i]) }
            }
        }
    }

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
