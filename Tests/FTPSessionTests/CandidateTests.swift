@testable import FTPSession
import Testing

/// The byte check a new connection's first command goes through agrees with the verb list
/// the rest of the analyzer uses, for every word of three and four letters.
@Test func knownVerbCheckAgreesWithTheVerbList() {
    var found = 0
    for length in 3...4 {
        var letters = [UInt8](repeating: 0x41, count: length)
        while true {
            let word = letters.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let listed = Candidate.knownVerbs.contains(String(decoding: letters, as: UTF8.self))
            if Candidate.isKnownVerb(word, length: length) != listed {
                Issue.record("\(String(decoding: letters, as: UTF8.self)): listed \(listed)")
            }
            if listed { found += 1 }
            var i = length - 1
            while i >= 0 && letters[i] == 0x5A { letters[i] = 0x41; i -= 1 }
            if i < 0 { break }
            letters[i] += 1
        }
    }
    #expect(found == Candidate.knownVerbs.count)
}

@Test(arguments: [("user bob\r\n", Candidate.Match.yes), ("UsEr bob", .yes), ("PWD\r\n", .yes), ("xcup\n", .yes),
                  ("USER", .unknown), ("", .unknown), ("US", .unknown), ("USERS x", .no), ("GET / HTTP/1.1", .no),
                  ("US1R x", .no), ("AB x", .no), ("HOST ftp.example.com\r\n", .yes), ("SSH-2.0", .no)])
func firstCommandShapes(_ text: String, _ match: Candidate.Match) {
    #expect(Candidate.looksLikeCommand(Array(text.utf8)) == match)
}

@Test(arguments: [("220 ready", Candidate.Match.yes), ("120-soon", .yes), ("421 busy", .yes), ("22", .unknown),
                  ("", .unknown), ("220", .unknown), ("2200", .no), ("230 ok", .no), ("SSH-2.0-OpenSSH", .no)])
func greetingShapes(_ text: String, _ match: Candidate.Match) {
    #expect(Candidate.looksLikeGreeting(Array(text.utf8)) == match)
}
