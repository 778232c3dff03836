import ArgumentParser
import Dermoscopy
import Foundation

/// `skinlesion bench-loader DATASET`: images per second the training input pipeline delivers
/// (decode, augment, normalize, batch), to compare with the engine's training throughput
/// from `skinlesion bench`: the model must never wait for data.
struct BenchLoaderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-loader",
        abstract: "Measure training data-loader throughput with augmentation."
    )

    @OptionGroup var dataset: DatasetArguments
    @OptionGroup var augmentation: AugmentationArguments

    @Option(help: "Model input size.")
    var size = 224

    @Option(help: "Batch size.")
    var batch = 32

    @Option(help: "Comma-separated loader thread counts to measure, e.g. 1,2.")
    var threads = ThreadCounts(values: [1, 2])

    @Option(help: "Epochs timed per thread count (the first untimed epoch warms the page cache).")
    var epochs = 2

    @Flag(help: "Skip unreadable images (counted and listed on stderr) instead of stopping.")
    var skipBadImages = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Run: Codable {
        var threads: Int
        var images_per_s: Double
    }

    func validate() throws { try OneProcess.requireForTiming("bench-loader") }

    func run() throws {
        let loaded = try dataset.load()
        let index = Dictionary(uniqueKeysWithValues: loaded.classes.enumerated().map { ($1, $0) })
        let samples = loaded.records.map { LoaderSample(url: loaded.url(of: $0), label: index[$0.label]!) }
        guard !samples.isEmpty else { throw ValidationError("the dataset has no images") }
        let pipeline = ImagePipeline(inputSize: size, normalization: .torchvision, augmentation: try augmentation.config())
        var runs: [Run] = []
        for count in threads.values {
            var options = DataLoader.Options()
            options.batchSize = batch
            options.threads = count
            options.training = true
            options.skipBadImages = skipBadImages
            let loader = try DataLoader(samples: samples, pipeline: pipeline, options: options)
            var images = 0
            var seconds = 0.0
            for epoch in 0...epochs {
                FileHandle.standardError.write(Data("bench-loader: \(count) thread(s), epoch \(epoch)\(epoch == 0 ? " (warm-up)" : "")\n".utf8))
                let start = DispatchTime.now().uptimeNanoseconds
                let batches = loader.epoch(Array(samples.indices), epoch: epoch)
                var seen = 0
                while let next = try batches.next() { seen += next.labels.count }
                if epoch > 0 {
                    images += seen
                    seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                }
            }
            runs.append(Run(threads: count, images_per_s: Double(images) / seconds))
            let skipped = Set(loader.skipped.map { "\($0.file): \($0.reason)" })
            if !skipped.isEmpty {
                FileHandle.standardError.write(Data("bench-loader: skipped \(skipped.count) unreadable image(s):\n".utf8))
                for line in skipped.sorted() { FileHandle.standardError.write(Data("  \(line)\n".utf8)) }
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(runs), as: UTF8.self))
            return
        }
        print("\(samples.count) images, \(size)×\(size), batch \(batch), augmentation \(augmentation.augment.rawValue)")
        for run in runs { print(String(format: "%2d loader thread(s)  %7.1f img/s", run.threads, run.images_per_s)) }
    }
}
