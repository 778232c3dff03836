import Dermoscopy
import Foundation
import Inference
import Models
import NeuralNet
import TestSupport
import XCTest
@testable import Training

/// `train --precision bf16` end to end (issue #11): it resumes exactly, saves FP32, and on
/// DermaMNIST val scores within the half point of the same run in FP32. On CPUs without
/// AVX512_BF16 these run through oneDNN's emulation (`withBF16`), which rounds as the native
/// instructions do.
final class BF16TrainingQualityTests: XCTestCase {
    /// TrainerTests' small two-stage EfficientNet-Lite0 run in bf16: stopped mid-epoch and
    /// resumed, it ends on exactly the weights of the uninterrupted run; the saved model is an
    /// ordinary FP32 file whose card says it was trained in bf16.
    func testBF16RunResumesExactlyAndSavesAnFP32Model() throws {
        let (dataset, manifest) = try TrainerTests.hamSample(80)
        var config = TrainerTests.config()
        config.precision = .bf16
        let directory = try temporaryDirectory("skinlesion-bf16")
        try withBF16 {
            let quiet: (String) -> Void = { _ in }
            let straight = try Trainer(config: config, dataset: dataset, manifest: manifest,
                                       run: RunDirectory(directory.appendingPathComponent("straight")), weights: nil, log: quiet)
            try straight.fit()
            let stoppedRun = RunDirectory(directory.appendingPathComponent("stopped"))
            _ = try Trainer(config: config, dataset: dataset, manifest: manifest, run: stoppedRun, weights: nil, log: quiet)
                .fit(stopAfterSteps: 3)
            let resumed = try Trainer(config: config, dataset: dataset, manifest: manifest, run: stoppedRun, weights: nil, log: quiet)
            try resumed.fit()
            for ((name, a), (_, b)) in zip(straight.model.namedParameters, resumed.model.namedParameters) {
                XCTAssertEqual(a.values, b.values, "\(name) differs after resuming a bf16 run")
            }

            let fp32 = try Trainer(config: TrainerTests.config(), dataset: dataset, manifest: manifest,
                                   run: RunDirectory(directory.appendingPathComponent("fp32")), weights: nil, log: quiet)
            try fp32.fit()
            let head = "_fc.4.weight"  // the MLP head's output layer
            let weights = [straight, fp32].map { Dictionary(uniqueKeysWithValues: $0.model.namedParameters.map { ($0.name, $0.parameter.values) }) }
            let (bf16Head, fp32Head) = (try XCTUnwrap(weights[0][head]), try XCTUnwrap(weights[1][head]))
            XCTAssertNotEqual(bf16Head, fp32Head, "bf16 training must differ from FP32 somewhere")
            XCTAssertLessThan(relativeError(bf16Head, fp32Head), 0.05, "two epochs of bf16 stay near FP32's weights")

            let predictor = try Predictor(modelFile: straight.run.bestModel)
            XCTAssertEqual(predictor.precision, .fp32, "the saved model holds the FP32 master weights")
            let settings = try XCTUnwrap(predictor.metadata.training?.settings)
            XCTAssertTrue(settings.contains("bf16 mixed precision"), "the model card says how it was trained: \(settings)")
        }
    }

    /// `--precision` trains fp32 or bf16; int8 is refused as an inference format, and bf16 on a
    /// CPU without AVX512_BF16 names what it needs and what there is.
    func testTrainingPrecisionRefusalsNameWhatIsMissing() throws {
        func message(_ precision: Precision, isa: CPUISA = .effective) -> String {
            var config = TrainerTests.config()
            config.precision = precision
            do { try config.validatePrecision(isa: isa); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(.int8).contains("--precision int8 is an inference format"), message(.int8))
        let noBF16 = message(.bf16, isa: .avx512CoreVNNI)
        XCTAssertTrue(noBF16.contains("--precision bf16 needs AVX-512 with AVX512_BF16") && noBF16.contains("avx512_core_vnni"), noBF16)
        XCTAssertFalse(noBF16.contains("or int8"), "int8 does not train: \(noBF16)")
        XCTAssertEqual(message(.bf16, isa: .avx512CoreBF16), "accepted")
        XCTAssertEqual(message(.fp32, isa: .avx2), "accepted")
        var config = TrainerTests.config()
        config.precision = .int8
        XCTAssertThrowsError(try config.validate(), "validate() checks the training precision too")
    }

    /// The quality bar: on all 1,003 DermaMNIST val images, ResNet-50 trained in bf16
    /// scores within 0.005 ACC and 0.005 macro AUC of the same run in FP32 (Int8QualityTests'
    /// recipe: from scratch at 32², one epoch on the first 3,000 train images, AdamW).
    func testBF16IsWithinHalfAPointOfFP32OnDermaMNISTVal() throws {
        let (dataset, manifest) = try Int8QualityTests.dermaMNISTSubset()
        let directory = try temporaryDirectory("skinlesion-bf16q")
        let validation = manifest.records(in: "val", of: dataset)
        XCTAssertEqual(validation.count, 1003)

        func score(_ precision: Precision) throws -> EvaluationReport {
            var config = Int8QualityTests.recipe()
            config.precision = precision
            let run = try RunDirectory(directory.appendingPathComponent(precision.rawValue))
            try Trainer(config: config, dataset: dataset, manifest: manifest, run: run, weights: nil, log: { _ in }).fit()
            let predictor = try Predictor(modelFile: run.bestModel)
            return try Evaluator.evaluate(predictor, dataset: dataset, records: validation, tta: 1, skipBadImages: false).report
        }
        let fp32 = try score(.fp32)
        let bf16 = try withBF16 { try score(.bf16) }
        let fp32AUC = try XCTUnwrap(fp32.macroAUC), bf16AUC = try XCTUnwrap(bf16.macroAUC)
        print(String(format: "DermaMNIST val, ResNet-50 32², 1 epoch: FP32 ACC %.4f AUC %.4f; BF16 ACC %.4f AUC %.4f",
                     fp32.accuracy, fp32AUC, bf16.accuracy, bf16AUC))
        XCTAssertGreaterThan(fp32AUC, 0.6, "the FP32 model must have learned something for the comparison to mean anything")
        XCTAssertEqual(bf16.accuracy, fp32.accuracy, accuracy: 0.005)
        XCTAssertEqual(bf16AUC, fp32AUC, accuracy: 0.005)
    }
}
