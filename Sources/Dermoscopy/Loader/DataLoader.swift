import Foundation
import NeuralNet

/// Decodes, augments and batches images on background threads, ahead of the training loop.
///
/// - Bounded: at most `prefetch` finished batches wait, so memory stays flat however slow the
///   consumer is (back-pressure).
/// - Deterministic: batch k of an epoch holds the same samples with the same augmentation
///   whatever thread built it, because each sample's randomness is seeded from
///   (seed, epoch, position).
/// - Polite: oneDNN's OpenMP threads already use every core during a training step, so loader
///   threads run at lower scheduling priority and default to one; they soak up idle time
///   instead of preempting the math.
public final class DataLoader: @unchecked Sendable {
    public struct Options: Sendable {
        public var batchSize = 32
        public var threads = 1
        public var prefetch = 2
        public var training = false
        public var dropLast = false
        /// Skip unreadable images (counted in `skipped`) instead of failing the batch.
        public var skipBadImages = false
        public var seed: UInt64 = 0

        public init() {}
    }

    public let samples: [LoaderSample]
    public let pipeline: ImagePipeline
    public let options: Options
    public let cache: ImageCache?
    private var skippedImages: [SkippedImage] = []
    private let skippedLock = NSLock()

    public init(samples: [LoaderSample], pipeline: ImagePipeline, options: Options, cache: ImageCache? = nil) throws {
        guard options.batchSize > 0, options.threads > 0, options.prefetch > 0 else {
            throw ImageError(file: "loader", message: "batch size, threads and prefetch must be positive")
        }
        if let cache, cache.count != samples.count || cache.side < pipeline.inputSize {
            throw ImageError(file: cache.url.lastPathComponent,
                             message: "cache holds \(cache.count) images of \(cache.side)², loader needs \(samples.count) of at least \(pipeline.inputSize)²")
        }
        self.samples = samples
        self.pipeline = pipeline
        self.options = options
        self.cache = cache
    }

    /// Images skipped so far because they could not be read.
    public var skipped: [SkippedImage] {
        skippedLock.lock()
        defer { skippedLock.unlock() }
        return skippedImages
    }

    /// The batches of one epoch visiting `order` (positions in `samples`), starting at batch
    /// `startBatch` (a resumed run skips what it already trained on).
    public func epoch(_ order: [Int], epoch: Int, startBatch: Int = 0) -> EpochBatches {
        let batches = batches(of: order)
        return EpochBatches(loader: self, batches: batches, epoch: epoch, start: min(startBatch, batches.count))
    }

    /// `order` cut into batches of `batchSize` positions, the last one dropped when short and
    /// `dropLast` is set: the one batching rule, also used by whatever replays an epoch
    /// without decoding (the trainer's frozen-feature cache).
    public func batches(of order: [Int]) -> [[Int]] {
        var batches = stride(from: 0, to: order.count, by: options.batchSize).map {
            Array(order[$0..<min($0 + options.batchSize, order.count)])
        }
        if options.dropLast, let last = batches.last, last.count < options.batchSize { batches.removeLast() }
        return batches
    }

    /// Builds one batch; runs on a worker thread.
    func makeBatch(_ positions: [Int], epoch: Int) throws -> Batch {
        let size = pipeline.inputSize
        let plane = 3 * size * size
        var pixels = [Float](repeating: 0, count: positions.count * plane)
        var kept: [Int] = []
        try pixels.withUnsafeMutableBufferPointer { buffer in
            for position in positions {
                guard let view = try view(of: position, epoch: epoch) else { continue }
                pipeline.normalization.write(view, to: buffer.baseAddress! + kept.count * plane)
                kept.append(position)
            }
        }
        let images = try Tensor(shape: [kept.count, 3, size, size], values: Array(pixels.prefix(kept.count * plane)))
        return Batch(images: images, labels: kept.map { samples[$0].label }, samples: kept)
    }

    /// One sample's network input, or nil when it is unreadable and skipping was asked for.
    private func view(of position: Int, epoch: Int) throws -> RGBImage? {
        let sample = samples[position]
        var rng = SeededGenerator(seed: sampleSeed(options.seed, epoch: epoch, position: position))
        do {
            let source: RGBImage
            if let cache {
                if let cached = cache.image(at: position) {
                    source = cached
                } else {
                    let decoded = try pipeline.decode(sample.url, sourceSize: cache.side)
                    source = Resize.shorterSideThenCenterCrop(decoded, size: cache.side)
                    cache.store(source, at: position)
                }
            } else {
                source = try pipeline.decode(sample.url, sourceSize: pipeline.sourceSize(training: options.training))
            }
            return pipeline.view(of: source, training: options.training, rng: &rng)
        } catch let error as ImageError where options.skipBadImages {
            skippedLock.lock()
            skippedImages.append(SkippedImage(file: sample.url.path, reason: error.message))
            skippedLock.unlock()
            return nil
        }
    }
}
