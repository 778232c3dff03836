import Dermoscopy
import Foundation
import Inference
import Models
import NeuralNet
import TestSupport
import XCTest
@testable import Training

final class TrainerTests: XCTestCase {
    static let ham = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/ham10000-sample")
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("skinlesion-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// 80 real HAM10000 images, lesion-grouped split.
    func data() throws -> (Dataset, SplitManifest) { try Self.hamSample(80) }

    /// The first `count` real HAM10000 images, lesion-grouped 70/30 split (skips when absent).
    static func hamSample(_ count: Int) throws -> (Dataset, SplitManifest) {
        guard FileManager.default.fileExists(atPath: ham.path) else {
            throw XCTSkip("real HAM10000 sample not found at \(ham.path) (see ../shared/data/README.md)")
        }
        var dataset = try DatasetLoader.load(ham)
        dataset.records = Array(dataset.records.prefix(count))
        return (dataset, try Splitter.split(dataset, plan: SplitPlan(fractions: (0.7, 0.3, 0), seed: 3)))
    }

    func config() -> TrainingConfig { Self.config() }

    /// Small but complete: two-stage transfer, dropout, EMA with warm-up, augmentation, AdamW +
    /// cosine, two loader threads.
    static func config() -> TrainingConfig {
        var config = TrainingConfig()
        config.architecture = "efficientnet-lite0"
        config.head = .mlp(hidden: [16], dropout: 0.3)
        config.imageSize = 32
        config.epochs = 2
        config.batchSize = 8
        config.freeze = .until("_blocks.15")
        config.warmupEpochs = 1
        config.emaDecay = 0.9
        config.emaWarmup = true
        config.loaderThreads = 2
        config.seed = 7
        return config
    }

    func testStoppedRunResumesToExactlyTheSameWeights() throws {
        let (dataset, manifest) = try data()
        let quiet: (String) -> Void = { _ in }
        let straight = try Trainer(config: config(), dataset: dataset, manifest: manifest,
                                   run: RunDirectory(directory.appendingPathComponent("straight")), weights: nil, log: quiet)
        let total = try straight.fit()
        XCTAssertTrue(total.finished)
        XCTAssertEqual(total.step, 2 * straight.batchesPerEpoch)

        let interruptedRun = RunDirectory(directory.appendingPathComponent("interrupted"))
        let first = try Trainer(config: config(), dataset: dataset, manifest: manifest, run: interruptedRun, weights: nil, log: quiet)
        let stopped = try first.fit(stopAfterSteps: 3)
        XCTAssertEqual(stopped.epoch, 0)
        XCTAssertEqual(stopped.batch, 3, "stopped mid-epoch")
        let resumed = try Trainer(config: config(), dataset: dataset, manifest: manifest, run: interruptedRun, weights: nil, log: quiet)
        XCTAssertEqual(resumed.progress.step, 3)
        try resumed.fit()

        for ((name, a), (_, b)) in zip(straight.model.namedParameters, resumed.model.namedParameters) {
            XCTAssertEqual(a.values, b.values, "\(name) differs after resuming")
        }
        let logs = [straight.run, interruptedRun].map { EpochRecord.read(from: $0).map { [$0.trainLoss, $0.valLoss, $0.valBalancedAccuracy] } }
        XCTAssertEqual(logs[0].count, 2)
        XCTAssertEqual(logs[0], logs[1], "the resumed run's log must match the uninterrupted one")
        XCTAssertEqual(EpochRecord.read(from: straight.run).map(\.stage), ["_fc", "_blocks.15"], "two-stage schedule")
        XCTAssertTrue(FileManager.default.fileExists(atPath: straight.run.bestModel.path))
        XCTAssertLessThanOrEqual(straight.run.existingCheckpoints().count, 2, "only the newest checkpoints are kept")
        XCTAssertTrue(try String(contentsOf: straight.run.logCSV, encoding: .utf8).hasPrefix(EpochRecord.header))
    }

    /// `--ema-warmup` reaches validation (which runs the average): one epoch with and without it
    /// from the same start validates differently, the model card says which it was, and a
    /// warm-up without an EMA is refused by name.
    func testEMAWarmupChangesTheValidatedAverageAndIsRecorded() throws {
        let (dataset, manifest) = try data()
        var plain = config()
        plain.epochs = 1
        plain.warmupEpochs = 0
        plain.emaWarmup = nil
        var warm = plain
        warm.emaWarmup = true
        let runs = try [("plain", plain), ("warm", warm)].map { name, config in
            let trainer = try Trainer(config: config, dataset: dataset, manifest: manifest,
                                      run: RunDirectory(directory.appendingPathComponent(name)), weights: nil, log: { _ in })
            try trainer.fit()
            return trainer
        }
        let losses = runs.map { EpochRecord.read(from: $0.run)[0].valLoss }
        XCTAssertNotEqual(losses[0], losses[1], "validation runs the average, which warm-up changes")
        for (run, text) in zip(runs, ["EMA of the weights (decay 0.9)", "EMA of the weights (decay 0.9, with warm-up)"]) {
            let settings = try XCTUnwrap(Predictor(modelFile: run.run.bestModel).metadata.training?.settings)
            XCTAssertTrue(settings.contains(text), settings)
        }
        var orphan = plain
        orphan.emaDecay = nil
        orphan.emaWarmup = true
        XCTAssertThrowsError(try orphan.validate()) { XCTAssertTrue("\($0)".contains("EMA warm-up needs an EMA (--ema DECAY)"), "\($0)") }
    }

    /// Head-only without augmentation trains on cached features: the same steps on the same
    /// samples as running the frozen backbone every time, so the same weights and metrics up
    /// to float rounding; and a cached run stopped mid-epoch resumes bit-identically.
    func testFrozenFeatureCacheTrainsLikeTheFullNetworkAndResumes() throws {
        let (dataset, manifest) = try data()
        var config = config()
        config.freeze = .all
        config.warmupEpochs = 0
        config.augmentation = .none
        config.loaderThreads = 1
        XCTAssertTrue(config.cachesFrozenFeatures)
        var messages: [String] = []
        func train(_ name: String, _ config: TrainingConfig, stopAfter: Int? = nil) throws -> Trainer {
            let trainer = try Trainer(config: config, dataset: dataset, manifest: manifest,
                                      run: RunDirectory(directory.appendingPathComponent(name)), weights: nil,
                                      log: { messages.append($0) })
            try trainer.fit(stopAfterSteps: stopAfter)
            return trainer
        }
        let cached = try train("cached", config)
        XCTAssertTrue(messages.contains { $0.contains("caching the frozen backbone's features") }, "\(messages)")
        var uncachedConfig = config
        uncachedConfig.featureCache = false
        messages = []
        let uncached = try train("uncached", uncachedConfig)
        XCTAssertFalse(messages.contains { $0.contains("caching") })
        for ((name, a), (_, b)) in zip(cached.model.namedParameters, uncached.model.namedParameters) where name.hasPrefix("_fc") {
            XCTAssertLessThanOrEqual(relativeError(a.values, b.values), 1e-4, name)
        }
        let logs = [cached.run, uncached.run].map { EpochRecord.read(from: $0) }
        for (a, b) in zip(logs[0], logs[1]) {
            XCTAssertEqual(a.trainLoss, b.trainLoss, accuracy: 1e-4)
            XCTAssertEqual(a.valLoss, b.valLoss, accuracy: 1e-4)
        }

        _ = try train("resumed", config, stopAfter: 3)
        let resumed = try train("resumed", config)
        for ((name, a), (_, b)) in zip(cached.model.namedParameters, resumed.model.namedParameters) {
            XCTAssertEqual(a.values, b.values, "\(name) differs after resuming a cached run")
        }
    }

    /// The monitored metric picks the best epoch: with the loss, an epoch is best exactly when
    /// its validation loss is the lowest so far.
    func testMonitoredMetricChoosesTheBestEpoch() throws {
        let (dataset, manifest) = try data()
        var config = config()
        config.epochs = 4
        config.monitor = .loss
        config.patience = nil
        let trainer = try Trainer(config: config, dataset: dataset, manifest: manifest,
                                  run: RunDirectory(directory.appendingPathComponent("loss")), weights: nil, log: { _ in })
        let progress = try trainer.fit()
        let records = EpochRecord.read(from: trainer.run)
        XCTAssertEqual(records.count, 4)
        var lowest = Double.infinity
        for record in records {
            XCTAssertEqual(record.best, record.valLoss < lowest, "epoch \(record.epoch)")
            lowest = min(lowest, record.valLoss)
        }
        XCTAssertEqual(progress.bestMetric, lowest)
        XCTAssertEqual(try ModelFile.load(from: trainer.run.bestModel).metadata.training?.selectedBy, "loss")
        XCTAssertTrue(MonitoredMetric.loss.improves(0.5, on: 0.6))
        XCTAssertFalse(MonitoredMetric.balancedAccuracy.improves(0.5, on: 0.6))
    }

    func testExplodingLossStopsWithAClearMessage() throws {
        let (dataset, manifest) = try data()
        var config = config()
        config.optimizer = .sgd
        config.learningRate = 1e30
        config.schedule = .constant
        config.warmupEpochs = 0
        config.freeze = .none
        let trainer = try Trainer(config: config, dataset: dataset, manifest: manifest,
                                  run: RunDirectory(directory.appendingPathComponent("nan")), weights: nil, log: { _ in })
        XCTAssertThrowsError(try trainer.fit()) { error in
            guard case TrainingError.nonFiniteLoss = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("at epoch 1, step"), "\(error)")
        }
    }

    func testInvalidConfigNamesTheField() throws {
        var config = config()
        config.batchSize = 1
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("batch size must be at least 2"), "\($0)") }
        config = self.config()
        config.freeze = .until("layer9")
        let (dataset, manifest) = try data()
        XCTAssertThrowsError(try Trainer(config: config, dataset: dataset, manifest: manifest,
                                         run: RunDirectory(directory.appendingPathComponent("bad")), weights: nil, log: { _ in })) {
            XCTAssertTrue("\($0)".contains("unknown stage 'layer9' for efficientnet-lite0; stages are _conv_stem"), "\($0)")
        }
    }
}
