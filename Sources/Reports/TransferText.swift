import FTPSession

extension TransferSummary {
    /// A transfer in a report's table of sessions: what moved, how much, how it ended and what
    /// it carried (`RETR tool 35664 B completed application/x-sharedlib`). Wire text, to be
    /// escaped by the format.
    var reportText: String {
        var text = command
        if let p = absolutePath ?? path { text += " " + p }
        text += " \(bytes) B \(outcome)"
        if let mimeType { text += " " + mimeType }
        return text
    }
}
