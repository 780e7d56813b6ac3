@testable import FTPSession
import Testing

/// The holes of one direction of a data connection, fed the way `DataChannel` feeds them.
@Suite struct UncapturedBytesTests {
    @Test func holesOpenSplitAndCloseAcrossTheWrapOfSequenceNumbers() {
        var u = UncapturedBytes()
        // A hole of 1,000 bytes that spans 0xFFFFFFFF → 0.
        let start: UInt32 = 0xFFFF_FE00
        u.skipped(from: start, length: 1000)
        #expect(u.count == 1000)
        // A retransmission of its middle: two holes left.
        u.shown(from: start &+ 400, length: 200)
        #expect(u.count == 800)
        // One that covers the end of the first and the start of the second, and beyond.
        u.shown(from: start &+ 300, length: 400)
        #expect(u.count == 600)
        // Bytes outside every hole change nothing.
        u.shown(from: start &+ 2000, length: 100)
        u.shown(from: start &- 500, length: 100)
        #expect(u.count == 600)
        // What is left: [0, 300) and [700, 1000) of the hole.
        u.shown(from: start, length: 300)
        #expect(u.count == 300)
        u.shown(from: start &+ 700, length: 300)
        #expect(u.count == 0)
    }

    @Test func adjacentHolesJoinAndTheOldestAreForgottenButCounted() {
        var u = UncapturedBytes()
        u.skipped(from: 100, length: 10)
        u.skipped(from: 110, length: 10)  // where the last ended: one hole of 20
        u.shown(from: 105, length: 10)
        #expect(u.count == 10)
        // A capture that lost every other packet: the holes beyond the most tracked stay counted.
        var lossy = UncapturedBytes()
        for i in 0..<(UncapturedBytes.maxHoles + 10) { lossy.skipped(from: UInt32(i * 200), length: 100) }
        #expect(lossy.count == (UncapturedBytes.maxHoles + 10) * 100)
        // The oldest ten were forgotten: filling them changes nothing, filling the newest does.
        lossy.shown(from: 0, length: 100)
        #expect(lossy.count == (UncapturedBytes.maxHoles + 10) * 100)
        lossy.shown(from: UInt32((UncapturedBytes.maxHoles + 9) * 200), length: 100)
        #expect(lossy.count == (UncapturedBytes.maxHoles + 9) * 100)
    }
}
