import FTPProtocol
import FTPSession

/// What makes a CI job fail: `--fail-on 5xx,530,anomaly,gap`, `--fail-on anomaly:NAME`,
/// `--allow-anomaly NAME` and `--max-latency-ms`.
public struct Policy: Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        case replyClass(Int)     // 4 for 4xx
        case code(Int)
        /// Any anomaly but the allowed ones.
        case anomaly
        /// This anomaly, allowed or not.
        case anomalyNamed(String)
        case gap
    }

    public var rules: [Rule] = []
    public var maxLatencyMilliseconds: Double?
    /// Anomalies the rule `anomaly` lets pass: a CI job whose client uses EPSV (229, which the
    /// catalog's sources do not list) can still fail on every other anomaly.
    public var allowedAnomalies: Set<String> = []

    public init(rules: [Rule] = [], maxLatencyMilliseconds: Double? = nil, allowedAnomalies: Set<String> = []) {
        self.rules = rules; self.maxLatencyMilliseconds = maxLatencyMilliseconds
        self.allowedAnomalies = allowedAnomalies
    }

    /// Every anomaly a record can carry, by the name records give it.
    public static let anomalyNames: [String] = SessionAnomaly.allCases.map(\.rawValue) + ReplyAnomaly.allCases.map(\.rawValue)

    /// The anomaly named `text`, in any case, as records spell it; nil for no anomaly.
    public static func anomalyName(_ text: String) -> String? {
        let t = text.lowercased()
        return anomalyNames.first { $0.lowercased() == t }
    }

    /// Parses `5xx`, `4xx`, `530`, `anomaly`, `anomaly:NAME`, `gap`.
    public static func rule(_ text: String) -> Rule? {
        let t = text.lowercased()
        if t.hasPrefix("anomaly:") { return anomalyName(String(text.dropFirst(8))).map { .anomalyNamed($0) } }
        if t == "anomaly" || t == "anomalies" { return .anomaly }
        if t == "gap" || t == "gaps" { return .gap }
        if t.count == 3, t.hasSuffix("xx"), let d = Int(t.prefix(1)), (1...6).contains(d) { return .replyClass(d) }
        if t.count == 3, let c = Int(t), (100...699).contains(c) { return .code(c) }
        return nil
    }

    /// Why a reply fails the policy, if it does.
    public func violations(of r: ReplyEvent) -> [String] {
        var out: [String] = []
        var anyAnomaly = false
        for rule in rules {
            switch rule {
            case .replyClass(let d): if let c = r.reply.code, c / 100 == d { out.append("reply \(c) (\(d)xx)") }
            case .code(let c): if r.reply.code == c { out.append("reply \(c)") }
            case .anomaly, .anomalyNamed: anyAnomaly = true
            case .gap: break
            }
        }
        // Each anomaly once, in the record's order, however many rules name it.
        if anyAnomaly {
            for a in r.anomalies where fails(on: a) { out.append("anomaly: \(a)") }
        }
        if let max = maxLatencyMilliseconds, let l = r.latencyMilliseconds, l > max {
            out.append("latency \(fixed(l, 1)) ms over \(fixed(max, 1)) ms")
        }
        return out
    }

    private func fails(on anomaly: String) -> Bool {
        rules.contains { rule in
            switch rule {
            case .anomaly: !allowedAnomalies.contains(anomaly)
            case .anomalyNamed(let n): n == anomaly
            default: false
            }
        }
    }

    /// Why a command fails the policy for the anomalies only its record carries (a malformed
    /// or cut line, a command before the banner): replies do not repeat them.
    public func violations(ofCommandAnomalies anomalies: [String]) -> [String] {
        anomalies.filter(fails(on:)).map { "anomaly: \($0)" }
    }

    /// Why a session fails the policy for what only its record shows (`command never
    /// answered`, …; `SessionReport.ofSessionOnly`): each such anomaly once, with its count.
    public func violations(ofSessionAnomalies anomalies: [(name: String, count: Int)]) -> [String] {
        anomalies.compactMap { a in
            fails(on: a.name) ? "anomaly: \(a.name)" + (a.count > 1 ? " ×\(a.count)" : "") : nil
        }
    }

    public func violations(of g: GapEvent) -> [String] {
        rules.contains(.gap) ? ["gap of \(g.bytes) bytes from the \(g.direction.rawValue)"] : []
    }

    /// `gap` is the capture losing bytes of a session, on its data connections too: a transfer
    /// whose bytes the capture did not all show fails it as a control gap does.
    public func violations(ofTransfers transfers: [TransferSummary], unlisted: UnlistedTransfers = UnlistedTransfers()) -> [String] {
        guard rules.contains(.gap) else { return [] }
        return transfers.filter { $0.uncapturedBytes > 0 }.map { t in
            "\(t.uncapturedBytes) data bytes of \(t.commandText)\((t.absolutePath ?? t.path).map { " " + $0 } ?? "") not captured"
        } + (unlisted.missingBytes > 0 ? ["\(unlisted.missingBytes) data bytes of the transfers not listed not captured"] : [])
    }
}
