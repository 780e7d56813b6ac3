/// A session's transfers past the ones its record lists: kept only while under way, then
/// settled (file, digests) and added up. Allocated by the first session that needs it, so
/// that the others carry one reference, not two arrays and the sums.
final class TransferOverflow {
    /// Transfers a session record lists; a session that moves more (a mirroring job over one
    /// control connection) keeps memory flat however many it moves.
    static let listed = 1_000
    private(set) var inFlight: [TransferTracker] = []
    private(set) var settled = UnlistedTransfers()

    /// A transfer past the listed ones begins: those whose final reply came and whose data
    /// connection ended (or never opened) are settled first.
    func take(_ tracker: TransferTracker) {
        inFlight.removeAll { t in
            guard t.summary.finalCode != nil, t.channel?.isClosed ?? true else { return false }
            settle(t)
            return true
        }
        inFlight.append(tracker)
    }

    /// The session ends: everything still under way is settled as it stands.
    func settleAll() -> UnlistedTransfers {
        for t in inFlight { settle(t) }
        inFlight = []
        return settled
    }

    private func settle(_ t: TransferTracker) {
        t.settleContentType()
        t.settleStreams()
        settled.add(t.summary)
    }
}
