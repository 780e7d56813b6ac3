import FTPProtocol

/// Pairing once bytes were lost. In an intact stream replies answer commands in order
/// (RFC 959: one reply, or a preliminary and a final one, per command); when the capture lost
/// replies or commands, that order alone would hand every later reply to the wrong command.
/// A session then weighs what it knows: which commands were waiting when the bytes went,
/// whether the loss began at a reply's start, which replies fit which commands.

extension PendingCommand {
    /// How well a reply with `code` fits this command (or the greeting).
    func fit(_ code: Int) -> ReplyFit {
        isGreeting ? Verb.greetingFit(code) : kind.fit(code)
    }

    /// Whether a 1xx may come before this command's final reply (RFC 959's 110, 120, 125, 150).
    var mayGetPreliminaryReply: Bool {
        [110, 120, 125, 150].contains { fit($0) != .unexpected }
    }
}

/// What a session knows about exchanges whose bytes were lost; all zero in an intact session.
/// Eight bytes, since every open session holds one (the queue it counts is capped at 10,000).
struct LostExchanges {
    private var waitingAtLoss: UInt16 = 0
    private var waitingBeforeLostCommands: UInt16 = 0

    /// How many commands at the head of the queue were waiting when server bytes were lost.
    var repliesOfWaiting: Int {
        get { Int(waitingAtLoss) }
        set { waitingAtLoss = UInt16(clamping: newValue) }
    }
    /// How many commands waiting when client bytes were lost are still to be answered: their
    /// replies come before any lost command's.
    var answersBeforeLostCommands: Int {
        get { Int(waitingBeforeLostCommands) }
        set { waitingBeforeLostCommands = UInt16(clamping: newValue) }
    }
    /// Client bytes were lost: commands the server answers that the capture never showed.
    var commands = false
    /// Server bytes were lost inside a multi-line reply, which may have lost its last line.
    var replyEnd = false
    /// The latest command came while a multi-line reply was open and none has ended since.
    var commandInsideReply = false
    /// Server bytes were lost from the start of a reply on, with commands waiting.
    var headReply = false

    var isSet: Bool { repliesOfWaiting > 0 || commands || headReply }

    /// The head of the queue took a final reply.
    mutating func headAnswered(waiting: Int) {
        repliesOfWaiting = min(max(0, repliesOfWaiting - 1), waiting)
        if commands, answersBeforeLostCommands > 0 { answersBeforeLostCommands -= 1 }
    }

    /// The first `n` of `waiting` commands were dropped: their replies were lost.
    mutating func dropped(_ n: Int, waiting: Int) {
        repliesOfWaiting = max(0, min(repliesOfWaiting, waiting) - n)
        if commands { answersBeforeLostCommands = max(0, answersBeforeLostCommands - n) }
    }
}
