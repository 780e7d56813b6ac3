import FTPSession

extension CaptureSummary {
    /// ", N data bytes not captured" for a report's totals, or nothing when none were lost.
    var missingDataText: String { missingDataBytes > 0 ? ", \(missingDataBytes) data bytes not captured" : "" }
}

extension TransferSummary {
    /// The verb, or what stands for it when the capture holds no command for the transfer.
    var commandText: String { command ?? "(command not seen)" }

    /// A transfer in a report's table of sessions: what moved, how much, how it ended, what it
    /// carried, and with `--hash` and `--extract` its strongest digest and where it was saved
    /// (`RETR tool 35664 B completed application/x-sharedlib sha256 9f… saved files/…-RETR-tool`).
    /// Wire text, to be escaped by the format.
    var reportText: String {
        var text = commandText
        if let p = absolutePath ?? path { text += " " + p }
        text += " \(bytes) B"
        if uncapturedBytes > 0 { text += " (\(uncapturedBytes) B not captured)" }
        if transferMode == "Z" { text += inflatedBytes.map { " deflated (\($0) B inflated)" } ?? " deflated" }
        text += " \(outcome)"
        if let mimeType { text += " " + mimeType }
        if let d = digests {
            if let h = d.sha256 { text += " sha256 " + h } else if let h = d.sha1 { text += " sha1 " + h } else if let h = d.md5 { text += " md5 " + h }
        }
        if let extractedPath { text += " saved " + extractedPath }
        return text
    }
}

extension UnlistedTransfers {
    /// "… and 79000 more transfers (79000000 bytes, 12 not captured) not listed".
    var text: String {
        "… and \(count) more transfers (\(bytes) bytes" + (missingBytes > 0 ? ", \(missingBytes) not captured" : "") + ") not listed"
    }
}

extension SessionSummary {
    /// A report's cell of the session's transfers: each listed one, then those not listed.
    var transfersText: String {
        (transfers.map(\.reportText) + (unlisted.count > 0 ? [unlisted.text] : [])).joined(separator: "; ")
    }
}
