import Testing
@Test func placeholder_PacketCaptureTests() { #expect(Bool(true)) }
