import FTPSession

/// What makes a CI job fail: `--fail-on 5xx,530,anomaly,gap` and `--max-latency-ms`.
public struct Policy: Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        case replyClass(Int)     // 4 for 4xx
        case code(Int)
        case anomaly
        case gap
    }

    public var rules: [Rule] = []
    public var maxLatencyMilliseconds: Double?

    public init(rules: [Rule] = [], maxLatencyMilliseconds: Double? = nil) {
        self.rules = rules; self.maxLatencyMilliseconds = maxLatencyMilliseconds
    }

    /// Parses `5xx`, `4xx`, `530`, `anomaly`, `gap`.
    public static func rule(_ text: String) -> Rule? {
        let t = text.lowercased()
        if t == "anomaly" || t == "anomalies" { return .anomaly }
        if t == "gap" || t == "gaps" { return .gap }
        if t.count == 3, t.hasSuffix("xx"), let d = Int(t.prefix(1)), (1...6).contains(d) { return .replyClass(d) }
        if t.count == 3, let c = Int(t), (100...699).contains(c) { return .code(c) }
        return nil
    }

    /// Why a reply fails the policy, if it does.
    public func violations(of r: ReplyEvent) -> [String] {
        var out: [String] = []
        for rule in rules {
            switch rule {
            case .replyClass(let d): if let c = r.reply.code, c / 100 == d { out.append("reply \(c) (\(d)xx)") }
            case .code(let c): if r.reply.code == c { out.append("reply \(c)") }
            case .anomaly: out += r.anomalies.map { "anomaly: \($0)" }
            case .gap: break
            }
        }
        if let max = maxLatencyMilliseconds, let l = r.latencyMilliseconds, l > max {
            out.append("latency \(fixed(l, 1)) ms over \(fixed(max, 1)) ms")
        }
        return out
    }

    public func violations(of g: GapEvent) -> [String] {
        rules.contains(.gap) ? ["gap of \(g.bytes) bytes from the \(g.direction.rawValue)"] : []
    }
}
