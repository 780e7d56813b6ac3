import DequeModule

/// A bounded first-in first-out hand-over between threads: `put` waits while it is full,
/// `take` while it is empty, so a fast producer cannot grow memory without bound.
final class BlockingQueue<Element>: @unchecked Sendable {
    private var items: Deque<Element> = []
    private let capacity: Int
    private let condition = Condition()

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    func put(_ item: Element) {
        condition.lock()
        while items.count >= capacity { condition.wait() }
        items.append(item)
        condition.broadcast()
        condition.unlock()
    }

    func take() -> Element {
        condition.lock()
        while items.isEmpty { condition.wait() }
        let item = items.removeFirst()
        condition.broadcast()
        condition.unlock()
        return item
    }
}
