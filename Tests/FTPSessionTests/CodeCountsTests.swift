@testable import FTPSession
import Testing

/// Code counts against a dictionary: random codes from a few to more than fit inline, so the
/// inline storage, its ordered inserts and the spill to an array are all compared.
@Test(arguments: [3, 8, 9, 16, 17, 40])
func codeCountsCountLikeADictionary(distinct: Int) {
    var counts = CodeCounts()
    var model: [Int: Int] = [:]
    var generator = SystemRandomNumberGenerator()
    let pool = (0..<distinct).map { _ in Int.random(in: 100..<700, using: &generator) }
    for _ in 0..<500 {
        let code = pool.randomElement(using: &generator)!
        counts.add(code)
        model[code, default: 0] += 1
    }
    #expect(counts.byCode == model)
    var codes: [Int] = []
    counts.forEachCode { code, _ in codes.append(code) }
    #expect(codes == model.keys.sorted())
    var byDigit = [Int](repeating: 0, count: 10)
    for (code, n) in model { byDigit[code / 100] += n }
    #expect(counts.byFirstDigit == byDigit)
    var classes: [Int] = []
    counts.forEachClass { d, _ in classes.append(d) }
    #expect(classes == classes.sorted() && Set(classes).count == classes.count)
}

/// A count past what an inline entry holds (22 bits) moves the counts to the wide array
/// rather than wrapping into the code's bits.
@Test func codeCountsSpillWhenACountOutgrowsItsInlineEntry() {
    var counts = CodeCounts()
    let many = (1 << 22) + 3
    counts.add(150)
    for _ in 0..<many { counts.add(200) }
    counts.add(550)
    #expect(counts.byCode == [150: 1, 200: many, 550: 1])
}
