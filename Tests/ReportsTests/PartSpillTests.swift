@testable import Reports
import Testing

@Suite struct PartSpillTests {
    /// Chunks come back as written, those already moved to the file (it is written a megabyte
    /// at a time) and those still in memory, in any order and more than once.
    @Test func chunksComeBackAsWritten() throws {
        let spill = try #require(PartSpill())
        // 300 chunks of 1–9,000 bytes, each byte a function of its chunk and place: about 1.4 MB.
        let pieces: [[UInt8]] = (0..<300).map { i in (0..<(1 + i * 7_919 % 9_000)).map { UInt8(truncatingIfNeeded: $0 * 31 + i) } }
        let chunks = pieces.map { spill.write($0) }
        #expect(chunks.reduce(0) { $0 + $1.count } > 1 << 20)
        for i in chunks.indices.reversed() + [0, 150, 299] {
            var back: [UInt8] = []
            spill.read(chunks[i]) { back.append(contentsOf: $0) }
            #expect(back == pieces[i], "chunk \(i)")
        }
    }
}
