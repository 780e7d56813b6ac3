@testable import FTPSession
import Testing

/// Anonymous logins are `anonymous` or `ftp` in any case, and nothing longer, shorter or merely
/// alike (the check compares bytes, so near misses are what it could get wrong).
@Test(arguments: [("anonymous", true), ("ANONYMOUS", true), ("AnonyMous", true), ("ftp", true), ("FTP", true),
                  ("fTp", true), ("ftp1", false), ("ft", false), ("anonymou", false), ("anonymous ", false),
                  ("", false), ("ＦＴＰ", false), ("f\u{0}p", false), ("FTp@", false)])
func anonymousNames(_ name: String, _ anonymous: Bool) {
    #expect(ControlSession.isAnonymousName(name) == anonymous)
}
