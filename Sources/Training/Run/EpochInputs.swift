import Dermoscopy
import NeuralNet

/// One epoch's training batches in sampler order, either decoded images from the loader or
/// rows of the frozen-feature cache. Both cut `order` with the loader's own rule
/// (`DataLoader.batches(of:)`) and start at the same batch on resume, so which one a run uses
/// changes no step's samples.
struct EpochInputs {
    private let images: EpochBatches?
    private let cache: FeatureCache?
    private let batches: [[Int]]
    private var position: Int

    init(order: [Int], epoch: Int, startBatch: Int, loader: DataLoader, cache: FeatureCache?) throws {
        self.cache = cache
        if cache == nil {
            let images = loader.epoch(order, epoch: epoch, startBatch: startBatch)
            self.images = images
            batches = []
            count = images.count
            position = 0
        } else {
            images = nil
            batches = loader.batches(of: order)
            count = batches.count
            position = min(startBatch, batches.count)
        }
    }

    /// Batches in the whole epoch, including any skipped on resume.
    let count: Int

    /// The next batch: network input (images, or pooled features), labels and the samples'
    /// positions in the split; nil at the end.
    mutating func next() throws -> (inputs: Tensor, labels: [Int], samples: [Int])? {
        if let images {
            return try images.next().map { ($0.images, $0.labels, $0.samples) }
        }
        guard let cache, position < batches.count else { return nil }
        defer { position += 1 }
        let batch = try cache.batch(batches[position])
        return (batch.features, batch.labels, batches[position])
    }
}
