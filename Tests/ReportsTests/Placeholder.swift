import Testing
@Test func placeholder_ReportsTests() { #expect(Bool(true)) }
