@testable import ftpscope
import Testing

/// The merger's session-number window against the dictionary it replaced: random starts and
/// ends, with a window small enough that long sessions move to the stragglers.
@Test(arguments: [2, 7, 64])
func sessionNumbersMapLikeADictionary(maxWindow: Int) {
    var numbers = SessionNumbers(maxWindow: maxWindow)
    var model: [Int: Int] = [:]
    var generator = SystemRandomNumberGenerator()
    var nextLocal = 1, nextGlobal = 100
    var open: [Int] = []
    for _ in 0..<5_000 {
        if open.isEmpty || Int.random(in: 0..<3, using: &generator) > 0 {
            numbers.started(nextLocal, as: nextGlobal)
            model[nextLocal] = nextGlobal
            open.append(nextLocal)
            nextLocal += 1; nextGlobal += 3
        } else {
            // Mostly the oldest sessions end; some stay open for a long time.
            let i = Int.random(in: 0..<min(open.count, 4), using: &generator) == 0
                ? Int.random(in: 0..<open.count, using: &generator) : 0
            let local = open.remove(at: i)
            numbers.ended(local)
            model[local] = nil
        }
        let probe = Int.random(in: 0..<(nextLocal + 2), using: &generator)
        #expect(numbers.global(probe) == model[probe])
    }
    for local in 0..<(nextLocal + 2) { #expect(numbers.global(local) == model[local]) }
}
