import Dermoscopy
import Foundation
import Inference
import Models
import NeuralNet
import TestSupport
import XCTest
@testable import Training

/// The quality bars for the low precisions (#11), on all 1,003 DermaMNIST val images:
/// a model quantized to int8 scores at most 0.005 ACC and 0.005 macro AUC below the FP32 model
/// it came from, and a model trained in bf16 within 0.005 of both of the same run in FP32. The
/// FP32 model, trained once for both, is a ResNet-50 from scratch at 32² for one epoch on the
/// first 3,000 train images (the recipe of benchmarks/dermamnist.sh, cut to fit a test).
final class PrecisionQualityTests: XCTestCase {
    /// The FP32 run both tests compare with, trained by whichever runs first (XCTest runs them one
    /// at a time); removed with the class.
    nonisolated(unsafe) private static var reference: (dataset: Dataset, manifest: SplitManifest, run: RunDirectory, report: EvaluationReport)?
    private static let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("skinlesion-precision-quality-\(UUID().uuidString)")

    override class func tearDown() {
        try? FileManager.default.removeItem(at: directory)
        reference = nil
    }

    /// The first 3,000 DermaMNIST train images and every val image, in the official split
    /// (enough for a model that ranks classes well above chance); skips when the data is absent.
    static func dermaMNISTSubset() throws -> (Dataset, SplitManifest) {
        let shared = TrainerTests.ham.deletingLastPathComponent().deletingLastPathComponent()
        let data = shared.appendingPathComponent("data/dermamnist28")
        guard FileManager.default.fileExists(atPath: data.path) else {
            throw XCTSkip("DermaMNIST not found under \(shared.path) (see ../shared/data/README.md)")
        }
        var dataset = try DatasetLoader.load(data)
        let train = dataset.records.filter { $0.split == "train" }
        dataset.records = Array(train.prefix(3000)) + dataset.records.filter { $0.split == "val" }
        return (dataset, try Splitter.split(dataset, plan: SplitPlan(seed: 0, useOfficialSplit: true)))
    }

    /// Trains the recipe at `precision` into `name` under the class's directory and scores it on val.
    private static func trainAndScore(_ dataset: Dataset, _ manifest: SplitManifest, at precision: Precision,
                                      name: String) throws -> (RunDirectory, EvaluationReport) {
        var config = TrainingConfig()
        config.architecture = "resnet50"
        config.imageSize = 32
        config.epochs = 1
        config.batchSize = 64
        config.freeze = .none
        config.optimizer = .adamw
        config.learningRate = 2e-3
        config.augmentation = .none
        config.seed = 1
        config.precision = precision
        let run = try RunDirectory(directory.appendingPathComponent(name))
        try Trainer(config: config, dataset: dataset, manifest: manifest, run: run, weights: nil, log: { _ in }).fit()
        return (run, try score(Predictor(modelFile: run.bestModel), dataset, manifest))
    }

    private static func score(_ predictor: Predictor, _ dataset: Dataset, _ manifest: SplitManifest) throws -> EvaluationReport {
        let validation = manifest.records(in: "val", of: dataset)
        XCTAssertEqual(validation.count, 1003)
        return try Evaluator.evaluate(predictor, dataset: dataset, records: validation, tta: 1, skipBadImages: false).report
    }

    private func fp32Reference() throws -> (dataset: Dataset, manifest: SplitManifest, run: RunDirectory, report: EvaluationReport) {
        if let reference = Self.reference { return reference }
        let (dataset, manifest) = try Self.dermaMNISTSubset()
        let (run, report) = try Self.trainAndScore(dataset, manifest, at: .fp32, name: "fp32")
        XCTAssertGreaterThan(try XCTUnwrap(report.macroAUC), 0.6, "the FP32 model must have learned something for the comparisons to mean anything")
        Self.reference = (dataset, manifest, run, report)
        return Self.reference!
    }

    func testInt8IsWithinHalfAPointOfFP32OnDermaMNISTVal() throws {
        let (dataset, manifest, run, fp32) = try fp32Reference()
        let predictor = try Predictor(modelFile: run.bestModel)
        var rng = SeededGenerator(seed: 0)
        let calibration = manifest.records(in: "train", of: dataset).shuffled(using: &rng).prefix(512).map { dataset.url(of: $0) }
        let metadata = try Quantizer(calibration: .minmax).quantize(predictor, images: Array(calibration), split: "train")
        let url = run.url.appendingPathComponent("best-int8.safetensors")
        try ModelFile.saveQuantized(predictor.model, metadata: metadata, to: url)
        let quantized = try Predictor(modelFile: url)
        XCTAssertEqual(quantized.precision, .int8, "an int8 file runs in int8 by default")
        let int8 = try Self.score(quantized, dataset, manifest)

        let fp32AUC = try XCTUnwrap(fp32.macroAUC), int8AUC = try XCTUnwrap(int8.macroAUC)
        print(String(format: "DermaMNIST val, ResNet-50 32², 1 epoch: FP32 ACC %.4f AUC %.4f; INT8 ACC %.4f AUC %.4f",
                     fp32.accuracy, fp32AUC, int8.accuracy, int8AUC))
        XCTAssertGreaterThanOrEqual(int8.accuracy, fp32.accuracy - 0.005)
        XCTAssertGreaterThanOrEqual(int8AUC, fp32AUC - 0.005)
    }

    /// The same recipe trained in bf16 mixed precision (emulated where the CPU lacks AVX512_BF16).
    func testBF16IsWithinHalfAPointOfFP32OnDermaMNISTVal() throws {
        let (dataset, manifest, _, fp32) = try fp32Reference()
        let (_, bf16) = try withBF16 { try Self.trainAndScore(dataset, manifest, at: .bf16, name: "bf16") }
        let fp32AUC = try XCTUnwrap(fp32.macroAUC), bf16AUC = try XCTUnwrap(bf16.macroAUC)
        print(String(format: "DermaMNIST val, ResNet-50 32², 1 epoch: FP32 ACC %.4f AUC %.4f; BF16 ACC %.4f AUC %.4f",
                     fp32.accuracy, fp32AUC, bf16.accuracy, bf16AUC))
        XCTAssertEqual(bf16.accuracy, fp32.accuracy, accuracy: 0.005)
        XCTAssertEqual(bf16AUC, fp32AUC, accuracy: 0.005)
    }
}
