/// Errors a user can cause when opening or reading captures. Each renders as one line.
public enum CaptureError: Error, Sendable, Equatable, CustomStringConvertible {
    case fileNotFound(path: String)
    case permissionDenied(path: String)
    case isDirectory(path: String)
    case notACapture(path: String, reason: String)
    case truncated(path: String, reason: String)
    case readFailed(path: String, reason: String)
    case interfaceNotFound(name: String, available: [String])
    case captureNotPermitted(interface: String, reason: String)
    case liveOpenFailed(interface: String, reason: String)
    case badFilter(expression: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let p): return "\(p): no such file"
        case .permissionDenied(let p): return "\(p): permission denied"
        case .isDirectory(let p): return "\(p): is a directory"
        case .notACapture(let p, let r): return "\(p): not a pcap or pcapng capture (\(r))"
        case .truncated(let p, let r): return "\(p): capture is truncated (\(r)); everything before the cut was analyzed"
        case .readFailed(let p, let r): return "\(p): read error (\(r))"
        case .interfaceNotFound(let n, let a):
            return "unknown interface '\(n)'; available: \(a.isEmpty ? "none" : a.joined(separator: ", "))"
        case .captureNotPermitted(let i, let r):
            return "no permission to capture on '\(i)' (\(r)): run as root or grant CAP_NET_RAW and CAP_NET_ADMIN (setcap cap_net_raw,cap_net_admin=eip $(which ftpscope))"
        case .liveOpenFailed(let i, let r): return "cannot capture on '\(i)': \(r)"
        case .badFilter(let e, let r): return "bad filter '\(e)': \(r)"
        case .writeFailed(let p, let r): return "\(p): cannot write capture (\(r))"
        }
    }
}
