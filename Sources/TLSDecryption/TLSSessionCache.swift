/// The TLS 1.2 sessions one analyzer saw set up, by how a later connection resumes them: the
/// master secret of the connection that set a session up, which the key log holds for that
/// connection alone (GnuTLS logs nothing for a resumed handshake). Each analyzer has its own,
/// used on its thread alone: a connection that resumes a session comes from the client that
/// set it up, and so to the same analyzer of a split capture; analyzers of different files do
/// not share one, so what a file's connections say does not depend on which other files
/// `--jobs` reads at the same time (each file is analyzed on its own).
public final class TLSSessionCache {
    /// By the ID the ServerHello gave, or by a ticket the server issued.
    enum Resumption: Hashable, Sendable {
        case sessionID([UInt8])
        case ticket([UInt8])
    }

    /// Bounded: the oldest half goes when full (clients resume sessions of the last minutes,
    /// not of hours ago).
    private var resumable: [Resumption: [UInt8]] = [:]
    private var order: [Resumption] = []
    static let limit = 1 << 16

    public init() {}

    func remember(master: [UInt8], resuming session: Resumption) {
        if resumable.updateValue(master, forKey: session) != nil { return }
        order.append(session)
        if order.count > Self.limit {
            for old in order.prefix(Self.limit / 2) { resumable[old] = nil }
            order.removeFirst(Self.limit / 2)
        }
    }

    func master(resuming session: Resumption) -> [UInt8]? { resumable[session] }
}
