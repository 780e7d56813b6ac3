import Foundation
import FTPSession

/// Renders and writes records on a second thread while the first keeps reading and
/// analyzing: on two cores the JSON encoding of a control-heavy capture overlaps with
/// parsing. Events travel in batches through a bounded queue, so memory stays flat and the
/// output order is exactly the order of the events.
final class PipelinedRenderer: @unchecked Sendable {
    private let render: (AnalysisEvent) -> [UInt8]?
    private let out: Output
    private let condition = NSCondition()
    private var queue: [[AnalysisEvent]] = []
    private var finished = false
    private var batch: [AnalysisEvent] = []
    private let batchSize = 2048
    private let maxQueued = 8
    private var thread: Thread?
    private var done = false

    init(render: @escaping (AnalysisEvent) -> [UInt8]?, out: Output) {
        self.render = render
        self.out = out
        batch.reserveCapacity(batchSize)
        let t = Thread { [unowned self] in self.drain() }
        t.name = "ftpscope-render"
        thread = t
        t.start()
    }

    /// Called on the analyzing thread.
    func add(_ event: AnalysisEvent) {
        batch.append(event)
        if batch.count >= batchSize { hand() }
    }

    private func hand() {
        condition.lock()
        while queue.count >= maxQueued { condition.wait() }
        queue.append(batch)
        condition.broadcast()
        condition.unlock()
        batch = []
        batch.reserveCapacity(batchSize)
    }

    /// Hands over what is left and waits until everything is written.
    func finish() {
        if !batch.isEmpty { hand() }
        condition.lock()
        finished = true
        condition.broadcast()
        while !done { condition.wait() }
        condition.unlock()
    }

    private func drain() {
        while true {
            condition.lock()
            while queue.isEmpty && !finished { condition.wait() }
            if queue.isEmpty && finished {
                done = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let next = queue.removeFirst()
            condition.broadcast()
            condition.unlock()
            for e in next { if let bytes = render(e) { out.write(bytes) } }
        }
    }
}
