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
/// it came from, and a model trained in bf16 within 0.005 of both of the same run in FP32.
///
/// Each bar compares a pair that differs only in arithmetic. Quantization starts from the FP32
/// model's own weights. The bf16 run repeats the FP32 run's seed, initialization and batches,
/// fine-tuning the ImageNet EfficientNet-Lite0 (benchmarks/dermamnist.sh's recipe, cut to fit a
/// test): measured across seeds 1–3 on a Zen 5 (native bf16), those pairs differed by at most
/// 0.003 ACC and 0.0005 AUC while the seeds themselves moved AUC by 0.012. A ResNet-50 trained
/// from scratch for one epoch, which this test used before, is too chaotic for the bar: there the
/// same pairs differed by up to 0.020 ACC and 0.010 AUC, in either direction.
final class PrecisionQualityTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try temporaryDirectory("skinlesion-precision-quality")
    }

    /// The first 3,000 DermaMNIST train images and every val image, in the official split
    /// (enough for a model that ranks classes well above chance); skips when the data is absent.
    static func dermaMNISTSubset() throws -> (Dataset, SplitManifest) {
        var dataset = try DatasetLoader.load(SharedFiles.require("data/dermamnist28", "DermaMNIST"))
        let train = dataset.records.filter { $0.split == "train" }
        dataset.records = Array(train.prefix(3000)) + dataset.records.filter { $0.split == "val" }
        return (dataset, try Splitter.split(dataset, plan: SplitPlan(seed: 0, useOfficialSplit: true)))
    }

    /// benchmarks/dermamnist.sh's optimizer and batch on the whole network, without augmentation,
    /// from seed 1.
    private static func recipe(_ architecture: String, imageSize: Int, epochs: Int) -> TrainingConfig {
        var config = TrainingConfig()
        config.architecture = architecture
        config.imageSize = imageSize
        config.epochs = epochs
        config.batchSize = 64
        config.freeze = .none
        config.optimizer = .adamw
        config.learningRate = 2e-3
        config.augmentation = .none
        config.seed = 1
        return config
    }

    /// Trains `config` into `name` under the test's directory and scores the best model on val.
    private func trainAndScore(_ config: TrainingConfig, weights: StateDict? = nil, _ dataset: Dataset,
                               _ manifest: SplitManifest, name: String) throws -> (RunDirectory, EvaluationReport) {
        let run = try RunDirectory(directory.appendingPathComponent(name))
        try Trainer(config: config, dataset: dataset, manifest: manifest, run: run, weights: weights, log: { _ in }).fit()
        return (run, try Self.score(Predictor(modelFile: run.bestModel), dataset, manifest))
    }

    private static func score(_ predictor: Predictor, _ dataset: Dataset, _ manifest: SplitManifest) throws -> EvaluationReport {
        let validation = manifest.records(in: "val", of: dataset)
        XCTAssertEqual(validation.count, 1003)
        return try Evaluator.evaluate(predictor, dataset: dataset, records: validation, tta: 1, skipBadImages: false).report
    }

    func testInt8IsWithinHalfAPointOfFP32OnDermaMNISTVal() throws {
        let (dataset, manifest) = try Self.dermaMNISTSubset()
        let config = Self.recipe("resnet50", imageSize: 32, epochs: 1)
        let (run, fp32) = try trainAndScore(config, dataset, manifest, name: "fp32")
        XCTAssertGreaterThan(try XCTUnwrap(fp32.macroAUC), 0.6, "the FP32 model must have learned something for the comparison to mean anything")
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

    /// EfficientNet-Lite0 from its ImageNet weights at 64², one head-only epoch then one of the
    /// whole network at half the rate, trained twice from the same seed: in FP32 and in bf16 mixed
    /// precision (emulated where the CPU lacks AVX512_BF16).
    func testBF16IsWithinHalfAPointOfFP32OnDermaMNISTVal() throws {
        let (dataset, manifest) = try Self.dermaMNISTSubset()
        let imageNet = try SharedFiles.require(SharedFiles.lite0Weights, "EfficientNet-Lite0 ImageNet weights")
        var config = Self.recipe("efficientnet-lite0", imageSize: 64, epochs: 2)
        config.warmupEpochs = 1
        config.fineTuneFactor = 0.5
        let weights = try StateDict(SafeTensorsFile(contentsOf: imageNet))
        let (_, fp32) = try trainAndScore(config, weights: weights, dataset, manifest, name: "fp32")
        XCTAssertGreaterThan(try XCTUnwrap(fp32.macroAUC), 0.8, "the FP32 model must have learned something for the comparison to mean anything")
        config.precision = .bf16
        let (_, bf16) = try withBF16 { try trainAndScore(config, weights: weights, dataset, manifest, name: "bf16") }
        let fp32AUC = try XCTUnwrap(fp32.macroAUC), bf16AUC = try XCTUnwrap(bf16.macroAUC)
        print(String(format: "DermaMNIST val, EfficientNet-Lite0 64², 1 + 1 epochs: FP32 ACC %.4f AUC %.4f; BF16 ACC %.4f AUC %.4f",
                     fp32.accuracy, fp32AUC, bf16.accuracy, bf16AUC))
        XCTAssertEqual(bf16.accuracy, fp32.accuracy, accuracy: 0.005)
        XCTAssertEqual(bf16AUC, fp32AUC, accuracy: 0.005)
    }
}
