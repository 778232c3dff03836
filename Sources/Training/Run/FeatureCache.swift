import Dermoscopy
import Foundation
import NeuralNet

/// Pooled backbone features of every sample, computed once.
///
/// When nothing below the head trains and no augmentation changes the pixels, every epoch would
/// decode the same images and run the same frozen backbone to the same features; the head is
/// a thousandth of the work. Training the head on these instead makes each epoch after the
/// first cost only the head (`TrainingConfig.cachesFrozenFeatures`).
struct FeatureCache {
    let width: Int
    let labels: [Int]
    private let features: [Float]

    /// Runs `backbone` (the frozen modules up to global average pooling) in inference mode over
    /// `samples` in order, in batches of `batchSize`, with a progress bar titled `title` (when `shown`).
    init(samples: [LoaderSample], pipeline: ImagePipeline, backbone: [any Layer], batchSize: Int, threads: Int,
         title: String, shown: Bool = true) throws {
        var options = DataLoader.Options()
        options.batchSize = batchSize
        options.threads = threads
        let loader = try DataLoader(samples: samples, pipeline: pipeline, options: options)
        let batches = loader.epoch(Array(samples.indices), epoch: 0)
        var bar = ProgressBar(title: title, total: batches.count, shown: shown)
        var features: [Float] = [], labels: [Int] = [], width = 0, done = 0
        while let batch = try batches.next() {
            var x = batch.images
            for layer in backbone { x = try layer.forward(x, mode: .inference) }
            width = x.shape[1]
            features += try x.toArray()
            labels += batch.labels
            done += 1
            bar.update(done: done, images: labels.count, status: "caching frozen features")
        }
        self.width = width
        self.labels = labels
        self.features = features
    }

    var count: Int { labels.count }

    /// The features `[positions.count, width]` and labels of the samples at `positions`.
    func batch(_ positions: [Int]) throws -> (features: Tensor, labels: [Int]) {
        var values = [Float](repeating: 0, count: positions.count * width)
        for (row, position) in positions.enumerated() {
            let source = position * width
            for column in 0..<width { values[row * width + column] = features[source + column] }
        }
        return (try Tensor(shape: [positions.count, width], values: values), positions.map { labels[$0] })
    }
}
