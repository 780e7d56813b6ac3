/// Where an analyzer's events go: every event as an `AnalysisEvent`, or replies, most of the
/// events of a busy capture, to a consumer of their own and the rest as events.
///
/// Wrapping a reply in the event enum copied its 250 bytes twice, and a consumer that switched
/// on the enum copied the payload once more, a retain and a release of each of its references:
/// about 2 % of the control-heavy benchmark's instructions, spent on no information. (The
/// closures are never optional: a closure taken out of an optional is called through two
/// conversion thunks.)
public struct EventSink {
    let event: (AnalysisEvent) -> Void
    let reply: (ReplyEvent) -> Void

    /// Every event, replies included, to `event`.
    public init(_ event: @escaping (AnalysisEvent) -> Void) {
        self.event = event
        reply = { event(.reply($0)) }
    }

    /// Replies to `replies`, every other event to `others`.
    public init(replies: @escaping (ReplyEvent) -> Void, others: @escaping (AnalysisEvent) -> Void) {
        event = others
        reply = replies
    }
}
