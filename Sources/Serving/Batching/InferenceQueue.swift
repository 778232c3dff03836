import Dermoscopy
import Foundation
import Inference

/// The one place the model runs. Requests from any number of connections enqueue images;
/// a single worker thread (the model is not thread-safe, and oneDNN already uses every core
/// within a batch) takes up to `maxBatch` images at a time, waiting at most `maxDelay` for a
/// batch to fill, so concurrent clients share forward passes instead of queueing behind
/// each other's batch-1 calls.
///
/// Bounded: when the queued images would exceed `capacity`, `submit` throws `.full` at once
/// with a retry estimate, and the server answers 429. A job still waiting at its deadline is
/// answered `.timedOut` without running.
final class InferenceQueue: @unchecked Sendable {
    enum Failure: Error, Equatable {
        case full(retryAfterSeconds: Int)
        case timedOut
        case stopped
    }

    /// What one request asks of the model.
    enum Work {
        /// Probabilities of each view, averaged over `tta` dihedral versions; `metadata` holds
        /// each view's encoded metadata for a fusion model.
        case classify(views: [RGBImage], metadata: [[Float]]?, tta: Int)
        /// Grad-CAM overlay of `classIndex` for one view, over the original image it was cut from.
        case explain(view: RGBImage, original: RGBImage, metadata: [Float]?, classIndex: Int)

        /// Forward-pass images this work costs.
        var images: Int {
            switch self {
            case .classify(let views, _, let tta): views.count * tta
            case .explain: 1
            }
        }
    }

    enum Result {
        case probabilities([[Double]])
        case overlay(RGBImage)
    }

    private struct Job {
        let work: Work
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Result, any Error>
    }

    private let predictor: Predictor
    private let maxBatch: Int
    private let maxDelay: Duration
    let capacity: Int
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var queuedImages = 0
    private var running = true
    /// Images per second of recent batches, for Retry-After.
    private var throughput = 10.0
    private let metrics: ServerMetrics
    private var worker: Thread?

    init(predictor: Predictor, maxBatch: Int, maxDelay: Duration, capacity: Int, metrics: ServerMetrics) {
        self.predictor = predictor
        self.maxBatch = maxBatch
        self.maxDelay = maxDelay
        self.capacity = capacity
        self.metrics = metrics
        let thread = Thread { [unowned self] in self.workLoop() }
        thread.name = "skinlesion-inference"
        worker = thread
        thread.start()
    }

    /// Images waiting now.
    var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queuedImages
    }

    /// Queues `work` and waits for its result, or throws `Failure`.
    func submit(_ work: Work, timeout: Duration) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard running else { return continuation.resume(throwing: Failure.stopped) }
            guard queuedImages + work.images <= capacity else {
                let wait = Double(queuedImages + work.images) / max(throughput, 1)
                return continuation.resume(throwing: Failure.full(retryAfterSeconds: max(1, Int(wait.rounded(.up)))))
            }
            jobs.append(Job(work: work, deadline: .now + timeout, continuation: continuation))
            queuedImages += work.images
            metrics.setQueueDepth(queuedImages)
            condition.signal()
        }
    }

    /// Finishes the jobs already queued, then ends the worker; later submissions throw `.stopped`.
    func stop() {
        condition.lock()
        running = false
        condition.broadcast()
        condition.unlock()
    }

    private func workLoop() {
        while let batch = nextBatch() {
            let start = ContinuousClock.now
            let images = batch.reduce(0) { $0 + $1.work.images }
            run(batch)
            let seconds = (ContinuousClock.now - start).seconds
            condition.lock()
            if seconds > 0 { throughput = 0.8 * throughput + 0.2 * Double(images) / seconds }
            condition.unlock()
            metrics.recordBatch(images: images)
        }
    }

    /// Waits for work, lets a batch fill for up to `maxDelay`, and takes jobs in arrival order
    /// while they fit in `maxBatch` images (always at least one). Nil once stopped and drained.
    private func nextBatch() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty {
            guard running else { return nil }
            condition.wait()
        }
        let fillBy = Date(timeIntervalSinceNow: maxDelay.seconds)
        while running && queuedImages < maxBatch && condition.wait(until: fillBy) {}
        var taken: [Job] = [], images = 0
        while let job = jobs.first, taken.isEmpty || images + job.work.images <= maxBatch {
            jobs.removeFirst()
            images += job.work.images
            taken.append(job)
        }
        queuedImages -= images
        metrics.setQueueDepth(queuedImages)
        return taken
    }

    /// Answers expired jobs, runs all classifications in shared forward passes (one per TTA
    /// setting present), then each explanation.
    private func run(_ batch: [Job]) {
        let now = ContinuousClock.now
        var live: [Job] = []
        for job in batch {
            if job.deadline < now { job.continuation.resume(throwing: Failure.timedOut) } else { live.append(job) }
        }
        for tta in [1, 8] {
            let group = live.filter { if case .classify(_, _, tta) = $0.work { true } else { false } }
            guard !group.isEmpty else { continue }
            let views = group.flatMap { job -> [RGBImage] in
                if case .classify(let views, _, _) = job.work { views } else { [] }
            }
            let vectors = predictor.takesMetadata ? group.flatMap { job -> [[Float]] in
                if case .classify(let views, let metadata, _) = job.work { metadata ?? [] } else { [] }
            } : nil
            do {
                let probabilities = try predictor.probabilities(views, metadata: vectors, tta: tta, batch: maxBatch)
                var offset = 0
                for job in group {
                    let count = job.work.images / tta
                    job.continuation.resume(returning: .probabilities(Array(probabilities[offset..<offset + count])))
                    offset += count
                }
            } catch {
                group.forEach { $0.continuation.resume(throwing: error) }
            }
        }
        for job in live {
            guard case .explain(let view, let original, let metadata, let classIndex) = job.work else { continue }
            do {
                let overlay = try predictor.camOverlay(of: view, over: original, metadata: metadata, classIndex: classIndex)
                job.continuation.resume(returning: .overlay(overlay))
            } catch {
                job.continuation.resume(throwing: error)
            }
        }
    }
}
