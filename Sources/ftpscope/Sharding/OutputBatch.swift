import Reports
import Synchronization

/// An analyzer's records for one input batch.
final class OutputBatch: @unchecked Sendable {
    // A full batch of control-heavy packets renders about 1 MB; growing from less copied the
    // buffer twice per batch until the spares were warm. Untouched pages cost no memory.
    var buffer = JSONWriter(capacity: 2 << 20)
    var records: [TaggedRecord] = []

    /// Empty again, keeping its storage.
    func reset() {
        buffer.clear()
        records.removeAll(keepingCapacity: true)
    }
}

/// Used batches waiting to be filled again.
final class SparePool<Element: AnyObject & Sendable>: Sendable {
    private let items = Mutex<[Element]>([])

    func give(_ item: Element) { items.withLock { $0.append(item) } }
    func take() -> Element? { items.withLock { $0.popLast() } }
}
