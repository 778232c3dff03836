import Dermoscopy
import Foundation
import Models
import NeuralNet
import TestSupport
import XCTest
@testable import Training

/// End to end on the real DermaMNIST train/val splits (8,010 images): the ImageNet
/// EfficientNet-Lite0 with a new head must learn clearly more than the majority class.
final class DermaMNISTTests: XCTestCase {
    func testHeadOnlyTransferBeatsTheMajorityBaseline() throws {
        let data = try SharedFiles.require("data/dermamnist28", "DermaMNIST")
        let weights = try SharedFiles.require(SharedFiles.lite0Weights, "EfficientNet-Lite0 ImageNet weights")
        let dataset = try DatasetLoader.load(data)
        let manifest = try Splitter.split(dataset, plan: SplitPlan(seed: 0, useOfficialSplit: true))
        var config = TrainingConfig()
        config.architecture = "efficientnet-lite0"
        config.imageSize = 64
        config.epochs = 2
        config.batchSize = 64
        config.freeze = .all
        config.augmentation = .none
        config.learningRate = 3e-3
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skinlesion-dm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try Trainer(config: config, dataset: dataset, manifest: manifest, run: RunDirectory(directory),
                                  weights: StateDict(SafeTensorsFile(contentsOf: weights)), log: { _ in })
        let progress = try trainer.fit()
        let validation = manifest.records(in: "val", of: dataset)
        XCTAssertEqual(validation.count, 1003)
        let majorityShare = Double(Dictionary(grouping: validation, by: \.label).values.map(\.count).max()!) / Double(validation.count)
        let best = try XCTUnwrap(EpochRecord.read(from: trainer.run).first { $0.best && $0.epoch == progress.bestEpoch! + 1 })
        print("DermaMNIST val: accuracy \(best.valAccuracy) (majority \(majorityShare)), balanced accuracy \(best.valBalancedAccuracy)")
        XCTAssertGreaterThan(best.valBalancedAccuracy, 2.0 / 7, "a majority-class model scores 1/7")
        XCTAssertGreaterThan(best.valAccuracy, majorityShare)
    }
}
