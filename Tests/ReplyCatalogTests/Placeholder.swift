import Testing
@Test func placeholder_ReplyCatalogTests() { #expect(Bool(true)) }
