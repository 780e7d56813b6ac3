import Dispatch
import Synchronization

/// Runs `body` once for every index in `0..<count` on up to `workers` threads. Indices are
/// handed out in order as threads come free, so long files do not leave a thread idle
/// behind a fixed split.
func concurrentForEach(_ count: Int, workers: Int, _ body: (Int) -> Void) {
    let next = IndexDispenser()
    withoutActuallyEscaping(body) { body in
        nonisolated(unsafe) let body = body
        DispatchQueue.concurrentPerform(iterations: min(max(1, workers), max(1, count))) { _ in
            while true {
                let i = next.take()
                guard i < count else { return }
                body(i)
            }
        }
    }
}

private final class IndexDispenser: Sendable {
    private let counter = Atomic<Int>(0)
    func take() -> Int { counter.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// The lowest index of a work item that failed, for runs that stop at the first failure in
/// index order: items after it need not run, items before it still must.
final class FirstFailure: Sendable {
    private let index = Atomic<Int>(.max)
    func record(_ i: Int) { index.min(i, ordering: .relaxed) }
    func precedes(_ i: Int) -> Bool { index.load(ordering: .relaxed) < i }
}
