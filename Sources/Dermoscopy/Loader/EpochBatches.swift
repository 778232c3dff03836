import Foundation

/// The batches of one epoch, built by worker threads and handed out strictly in order.
///
/// Workers claim batch numbers in order but may finish out of order; `next()` waits for the
/// one it needs. A worker does not start batch k until batch k − prefetch has been taken.
/// Dropping this object mid-epoch stops the workers.
public final class EpochBatches: @unchecked Sendable {
    private let state: State

    init(loader: DataLoader, batches: [[Int]], epoch: Int, start: Int) {
        state = State(loader: loader, batches: batches, epoch: epoch, start: start)
        for _ in 0..<loader.options.threads { state.spawnWorker() }
    }

    deinit { state.cancel() }

    public var count: Int { state.batches.count }

    /// The next batch, or nil at the end of the epoch. Rethrows the error of a batch that
    /// could not be built (an unreadable image, unless skipping).
    public func next() throws -> Batch? { try state.next() }

    /// Shared by the consumer and the workers; workers hold this, not the public object, so
    /// the public object's deinit can stop them.
    private final class State: @unchecked Sendable {
        let loader: DataLoader
        let batches: [[Int]]
        let epoch: Int
        private let condition = NSCondition()
        private var nextToStart: Int
        private var nextToDeliver: Int
        private var finished: [Int: Result<Batch, Error>] = [:]
        private var cancelled = false
        private var workersRunning = 0

        init(loader: DataLoader, batches: [[Int]], epoch: Int, start: Int) {
            self.loader = loader
            self.batches = batches
            self.epoch = epoch
            nextToStart = start
            nextToDeliver = start
        }

        func spawnWorker() {
            condition.lock()
            workersRunning += 1
            condition.unlock()
            let thread = Thread { [self] in work() }
            thread.name = "skinlesion-loader"
            thread.start()
        }

        func next() throws -> Batch? {
            condition.lock()
            defer { condition.unlock() }
            guard nextToDeliver < batches.count else { return nil }
            while finished[nextToDeliver] == nil { condition.wait() }
            let result = finished.removeValue(forKey: nextToDeliver)!
            nextToDeliver += 1
            condition.broadcast()
            return try result.get()
        }

        /// Stops the workers once the batches they are building are done, and waits for them.
        func cancel() {
            condition.lock()
            cancelled = true
            condition.broadcast()
            while workersRunning > 0 { condition.wait() }
            condition.unlock()
        }

        private func work() {
            lowerPriority()
            condition.lock()
            while true {
                while !cancelled && nextToStart < batches.count && nextToStart >= nextToDeliver + loader.options.prefetch {
                    condition.wait()
                }
                if cancelled || nextToStart >= batches.count { break }
                let index = nextToStart
                nextToStart += 1
                condition.unlock()
                let result = Result { try loader.makeBatch(batches[index], epoch: epoch) }
                condition.lock()
                finished[index] = result
                condition.broadcast()
            }
            workersRunning -= 1
            condition.broadcast()
            condition.unlock()
        }

        /// Nice 10 for this thread only, so a training step's OpenMP threads win the cores and
        /// the loader uses what they leave. (On Linux the nice value is per thread, and
        /// `who == 0` means the calling thread.)
        private func lowerPriority() {
            #if os(Linux)
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            #endif
        }
    }
}
