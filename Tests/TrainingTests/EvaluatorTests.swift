import Dermoscopy
import Foundation
import Inference
import Models
import NeuralNet
import TestSupport
import XCTest
@testable import Training

final class EvaluatorTests: XCTestCase {
    /// A one-epoch head-only run on 80 real images from the real ImageNet EfficientNet-Lite0
    /// (so outputs depend on the image), then evaluation, TTA, calibration and prediction on it.
    func testEvaluatePredictAndCalibrateATrainedModel() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skinlesion-eval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        guard FileManager.default.fileExists(atPath: TrainerTests.ham.path) else {
            throw XCTSkip("real HAM10000 sample not found at \(TrainerTests.ham.path)")
        }
        let weights = try SharedFiles.require(SharedFiles.lite0Weights, "EfficientNet-Lite0 ImageNet weights")
        var dataset = try DatasetLoader.load(TrainerTests.ham)
        dataset.records = Array(dataset.records.prefix(80))
        let manifest = try Splitter.split(dataset, plan: SplitPlan(fractions: (0.6, 0.2, 0.2), seed: 5))
        var config = TrainingConfig()
        config.architecture = "efficientnet-lite0"
        config.imageSize = 64
        config.epochs = 1
        config.batchSize = 8
        config.freeze = .all
        let run = RunDirectory(directory)
        try Trainer(config: config, dataset: dataset, manifest: manifest, run: run, weights: StateDict(SafeTensorsFile(contentsOf: weights)), log: { _ in }).fit()

        let predictor = try Predictor(modelFile: run.bestModel)
        XCTAssertEqual(predictor.metadata.inputSize, 64, "the model file records the size it was trained at")
        XCTAssertEqual(predictor.metadata.training?.imagesPerSplit["train"], manifest.entries.filter { $0.split == "train" }.count)
        let test = manifest.records(in: "test", of: dataset)
        let plain = try Evaluator.evaluate(predictor, dataset: dataset, records: test, tta: 1, skipBadImages: false)
        XCTAssertEqual(plain.report.images, test.count)
        XCTAssertEqual(plain.imageIDs, test.map(\.imageID))
        let csv = plain.isicCSV().split(separator: "\n")
        XCTAssertEqual(csv.first, "image,AKIEC,BCC,BKL,DF,MEL,NV,VASC")
        XCTAssertEqual(csv.count, test.count + 1)
        let tta = try Evaluator.evaluate(predictor, dataset: dataset, records: test, tta: 8, skipBadImages: false)
        XCTAssertNotEqual(tta.probabilities, plain.probabilities, "8 dihedral views average to different probabilities")
        XCTAssertThrowsError(try predictor.probabilities([], tta: 4))

        // Trainer.evaluate (loader batches) and the Evaluator (predictor views) see the same inputs.
        let resumed = try Trainer(config: config, dataset: dataset, manifest: manifest, run: run, weights: nil, log: { _ in })
        try resumed.model.load(from: SafeTensorsFile(contentsOf: run.bestModel))
        let samples = test.map { LoaderSample(url: dataset.url(of: $0), label: predictor.metadata.classNames.firstIndex(of: $0.label)!) }
        let (report, _) = try XCTUnwrap(resumed.evaluate(samples, metadata: nil))
        XCTAssertEqual(report.accuracy, plain.report.accuracy, accuracy: 1e-12)

        var metadata = predictor.metadata
        metadata.temperature = 3
        let calibrated = directory.appendingPathComponent("calibrated.safetensors")
        try ModelFile.save(predictor.model, metadata: metadata, to: calibrated)
        let image = dataset.url(of: test[0])
        let sharp = try predictor.predict(image)
        let soft = try Predictor(modelFile: calibrated).predict(image)
        XCTAssertFalse(sharp.calibrated)
        XCTAssertTrue(soft.calibrated)
        XCTAssertEqual(soft.top, sharp.top, "temperature never changes the ranking")
        XCTAssertLessThan(soft.confidence, sharp.confidence, "T > 1 softens the distribution")
        XCTAssertEqual(soft.probabilities.reduce(0, +), 1, accuracy: 1e-9)
    }
}
