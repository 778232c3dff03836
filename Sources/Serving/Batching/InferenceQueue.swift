import Dermoscopy
import Foundation
import Inference

/// The one place the models run. Requests from any number of connections enqueue images;
/// a single worker thread (the model is not thread-safe, and oneDNN already uses every core
/// within a batch) takes up to `maxBatch` images at a time, waiting at most `maxDelay` for a
/// batch to fill, so concurrent clients share forward passes instead of queueing behind
/// each other's batch-1 calls. An ensemble's members each run the batch in turn, each on its
/// own views (input size, preprocessing), metadata vectors and TTA.
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

    /// One member's input for the images of a request: its views, each view's encoded
    /// metadata (a fusion member only), and the dihedral views to average (1 or 8).
    struct MemberInput {
        let views: [RGBImage]
        let metadata: [[Float]]?
        let tta: Int
    }

    /// What one request asks of the models.
    enum Work {
        /// Every member's probabilities of the same images, one input per member.
        case classify([MemberInput])
        /// Grad-CAM overlay of `classIndex` by the first member for its view, over the original
        /// image it was cut from.
        case explain(view: RGBImage, original: RGBImage, metadata: [Float]?, classIndex: Int)

        /// Forward-pass images this work costs.
        var images: Int {
            switch self {
            case .classify(let inputs): inputs.reduce(0) { $0 + $1.views.count * $1.tta }
            case .explain: 1
            }
        }
    }

    enum Result {
        /// `[member][image][class]`.
        case probabilities([[[Double]]])
        case overlay(RGBImage)
    }

    private struct Job {
        let work: Work
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Result, any Error>
    }

    private let ensemble: Ensemble
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

    init(ensemble: Ensemble, maxBatch: Int, maxDelay: Duration, capacity: Int, metrics: ServerMetrics) {
        self.ensemble = ensemble
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

    /// Answers expired jobs, runs all classifications in shared forward passes (per member, one
    /// per TTA setting present), then each explanation.
    private func run(_ batch: [Job]) {
        let now = ContinuousClock.now
        var live: [Job] = []
        for job in batch {
            if job.deadline < now { job.continuation.resume(throwing: Failure.timedOut) } else { live.append(job) }
        }
        let classify = live.compactMap { job -> (job: Job, inputs: [MemberInput])? in
            if case .classify(let inputs) = job.work { (job, inputs) } else { nil }
        }
        var results = [[[[Double]]]](repeating: [], count: classify.count)
        var failures = [(any Error)?](repeating: nil, count: classify.count)
        for (m, member) in ensemble.members.enumerated() {
            for tta in [1, 8] {
                let group = classify.indices.filter { failures[$0] == nil && classify[$0].inputs[m].tta == tta }
                guard !group.isEmpty else { continue }
                let views = group.flatMap { classify[$0].inputs[m].views }
                let vectors = member.predictor.takesMetadata ? group.flatMap { classify[$0].inputs[m].metadata ?? [] } : nil
                do {
                    let probabilities = try member.predictor.probabilities(views, metadata: vectors, tta: tta, batch: maxBatch)
                    var offset = 0
                    for j in group {
                        let count = classify[j].inputs[m].views.count
                        results[j].append(Array(probabilities[offset..<offset + count]))
                        offset += count
                    }
                } catch {
                    for j in group { failures[j] = error }
                }
            }
        }
        for (j, item) in classify.enumerated() {
            if let failure = failures[j] { item.job.continuation.resume(throwing: failure) } else {
                item.job.continuation.resume(returning: .probabilities(results[j]))
            }
        }
        for job in live {
            guard case .explain(let view, let original, let metadata, let classIndex) = job.work else { continue }
            do {
                let overlay = try ensemble.members[0].predictor.camOverlay(of: view, over: original, metadata: metadata, classIndex: classIndex)
                job.continuation.resume(returning: .overlay(overlay))
            } catch {
                job.continuation.resume(throwing: error)
            }
        }
    }
}
