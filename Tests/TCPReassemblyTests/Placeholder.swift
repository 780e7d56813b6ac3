import Testing
@Test func placeholder_TCPReassemblyTests() { #expect(Bool(true)) }
