import Testing
@Test func placeholder_FTPProtocolTests() { #expect(Bool(true)) }
