import FTPSession

/// What to call a reply that answers no command the capture holds, in text and HTML.
enum UnaskedReply {
    /// "(greeting)" for the reply to the connection itself (it has a latency, from the
    /// connection's start; so has a 421 refusing it), or a 220/120 seen without the start;
    /// "(command lost)" for the answer to a command the capture lost; "(unsolicited)" else.
    static func label(_ r: ReplyEvent) -> StaticString {
        if r.latencyMilliseconds != nil || r.reply.code == 220 || r.reply.code == 120 { return "(greeting)" }
        if r.anomalies.contains(SessionAnomaly.commandLostInGap.rawValue) { return "(command lost)" }
        return "(unsolicited)"
    }
}
