/// Where a record goes in the merged output, compared field by field.
struct MergeKey: Comparable {
    /// 2 × packet index for a sweep before that packet, 2 × index + 1 for the packet itself,
    /// the maximum for the end of input.
    var position: UInt64
    /// For sessions closed by a sweep or the end of input: last activity, then creating packet.
    var lastSeen: Int64
    var serial: UInt64

    static func < (l: MergeKey, r: MergeKey) -> Bool {
        (l.position, l.lastSeen, l.serial) < (r.position, r.lastSeen, r.serial)
    }
}

/// One entry of a shard's output: a rendered record, or a session starting or ending.
struct TaggedRecord {
    /// `count`: the analyzer's table size changed; `start` holds the size just after an
    /// insertion during this packet (its peak), `end` the size after the packet.
    enum Kind: UInt8 { case record, started, ended, count }
    var kind: Kind
    var key: MergeKey
    var start: Int
    var end: Int
    /// Where the analyzer's own session id sits in the record, and its number.
    var idStart: Int
    var idLength: Int
    var session: Int
}
