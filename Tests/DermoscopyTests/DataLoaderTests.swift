import Foundation
import XCTest
@testable import Dermoscopy
@testable import NeuralNet

final class DataLoaderTests: XCTestCase {
    static let hamRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/ham10000-sample")
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("skinlesion-loader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// The first `count` real HAM10000 JPEGs, labelled by position.
    func hamSamples(_ count: Int) throws -> [LoaderSample] {
        let folder = Self.hamRoot.appendingPathComponent("HAM10000_images_part_1")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            throw XCTSkip("real HAM10000 images not found at \(folder.path) (see ../shared/data/README.md)")
        }
        return names.filter { $0.hasSuffix(".jpg") }.sorted().prefix(count).enumerated()
            .map { LoaderSample(url: folder.appendingPathComponent($0.element), label: $0.offset % 7) }
    }

    func options(threads: Int, training: Bool, batch: Int = 4) -> DataLoader.Options {
        var options = DataLoader.Options()
        options.batchSize = batch
        options.threads = threads
        options.training = training
        options.seed = 42
        return options
    }

    func collect(_ epoch: EpochBatches) throws -> [(samples: [Int], pixels: [Float])] {
        var out: [([Int], [Float])] = []
        while let batch = try epoch.next() { out.append((batch.samples, try batch.images.toArray())) }
        return out
    }

    func testAugmentedBatchesAreDeterministicWhateverTheThreadCount() throws {
        let samples = try hamSamples(10)
        let pipeline = ImagePipeline(inputSize: 64, normalization: .torchvision, augmentation: .dermoscopy)
        let order = Array((0..<10).reversed())
        let one = try collect(DataLoader(samples: samples, pipeline: pipeline, options: options(threads: 1, training: true))
                                .epoch(order, epoch: 3))
        let two = try collect(DataLoader(samples: samples, pipeline: pipeline, options: options(threads: 2, training: true))
                                .epoch(order, epoch: 3))
        XCTAssertEqual(one.map(\.samples), [[9, 8, 7, 6], [5, 4, 3, 2], [1, 0]])
        XCTAssertEqual(one.map(\.samples), two.map(\.samples))
        XCTAssertEqual(one.map(\.pixels), two.map(\.pixels), "augmentation must not depend on which thread built a batch")
        let otherEpoch = try collect(DataLoader(samples: samples, pipeline: pipeline, options: options(threads: 2, training: true))
                                       .epoch(order, epoch: 4))
        XCTAssertNotEqual(one.map(\.pixels), otherEpoch.map(\.pixels), "each epoch sees new augmentations")
    }

    func testEvaluationBatchEqualsTheSinglePipeline() throws {
        let samples = try hamSamples(3)
        let pipeline = ImagePipeline(inputSize: 96, normalization: .torchvision)
        let loader = try DataLoader(samples: samples, pipeline: pipeline, options: options(threads: 2, training: false))
        let batch = try XCTUnwrap(loader.epoch([0, 1, 2], epoch: 0).next())
        XCTAssertEqual(batch.images.shape, [3, 3, 96, 96])
        XCTAssertEqual(batch.labels, [0, 1, 2])
        let decoded = try ImageDecoder.decode(contentsOf: samples[1].url, minimumSize: (96, 96))
        let view = Resize.shorterSideThenCenterCrop(decoded, size: 96)
        var expected = [Float](repeating: 0, count: 3 * 96 * 96)
        expected.withUnsafeMutableBufferPointer { Normalization.torchvision.write(view, to: $0.baseAddress!) }
        XCTAssertEqual(Array(try batch.images.toArray()[(3 * 96 * 96)..<(6 * 96 * 96)]), expected)
    }

    func testBadImagesFailTheBatchOrAreSkippedAndListed() throws {
        var samples = try hamSamples(3)
        let empty = directory.appendingPathComponent("ISIC_broken.jpg")
        XCTAssertTrue(FileManager.default.createFile(atPath: empty.path, contents: Data()))
        samples.insert(LoaderSample(url: empty, label: 1), at: 1)
        let pipeline = ImagePipeline(inputSize: 32, normalization: .tf)
        let strict = try DataLoader(samples: samples, pipeline: pipeline, options: options(threads: 1, training: false))
        XCTAssertThrowsError(try strict.epoch([0, 1, 2, 3], epoch: 0).next()) {
            XCTAssertTrue("\($0)".contains("ISIC_broken.jpg"), "\($0)")
        }
        var lenient = options(threads: 1, training: false)
        lenient.skipBadImages = true
        let loader = try DataLoader(samples: samples, pipeline: pipeline, options: lenient)
        let batch = try XCTUnwrap(loader.epoch([0, 1, 2, 3], epoch: 0).next())
        XCTAssertEqual(batch.samples, [0, 2, 3])
        XCTAssertEqual(batch.images.shape[0], 3)
        XCTAssertEqual(loader.skipped.map(\.file), [empty.path])
    }

    func testCacheFillsOnceServesIdenticalPixelsAndResetsWhenFilesChange() throws {
        let samples = try hamSamples(5)
        let pipeline = ImagePipeline(inputSize: 48, normalization: .torchvision)
        let url = directory.appendingPathComponent("images.cache")
        let uncached = try collect(DataLoader(samples: samples, pipeline: pipeline, options: options(threads: 1, training: false))
                                     .epoch(Array(0..<5), epoch: 0))
        let cache = try ImageCache(url: url, samples: samples.map(\.url), side: 48)
        XCTAssertEqual(cache.filled, 0)
        let first = try collect(DataLoader(samples: samples, pipeline: pipeline, options: options(threads: 2, training: false),
                                           cache: cache).epoch(Array(0..<5), epoch: 0))
        XCTAssertEqual(cache.filled, 5)
        XCTAssertEqual(first.map(\.pixels), uncached.map(\.pixels))
        let reopened = try ImageCache(url: url, samples: samples.map(\.url), side: 48)
        XCTAssertEqual(reopened.filled, 5, "a matching cache is reused across runs")
        let second = try collect(DataLoader(samples: samples, pipeline: pipeline, options: options(threads: 1, training: false),
                                            cache: reopened).epoch(Array(0..<5), epoch: 1))
        XCTAssertEqual(second.map(\.pixels), first.map(\.pixels))
        XCTAssertEqual(try ImageCache(url: url, samples: samples.dropLast().map(\.url), side: 48).filled, 0,
                       "another file list must not be served stale pixels")
        XCTAssertThrowsError(try DataLoader(samples: samples, pipeline: pipeline, options: options(threads: 1, training: false),
                                            cache: try ImageCache(url: url, samples: samples.map(\.url), side: 32)))
    }

    func testAbandonedEpochStopsItsWorkers() throws {
        let samples = try hamSamples(12)
        let pipeline = ImagePipeline(inputSize: 32, normalization: .torchvision)
        var options = options(threads: 2, training: false, batch: 2)
        options.prefetch = 1
        let loader = try DataLoader(samples: samples, pipeline: pipeline, options: options)
        var epoch: EpochBatches? = loader.epoch(Array(0..<12), epoch: 0, startBatch: 2)
        XCTAssertEqual(try epoch?.next()?.samples, [4, 5], "a resumed epoch starts at its batch")
        epoch = nil  // must return promptly rather than hang on blocked workers
        XCTAssertNil(epoch)
    }
}
