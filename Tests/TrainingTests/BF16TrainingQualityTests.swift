import Dermoscopy
import Foundation
import Inference
import Models
import NeuralNet
import TestSupport
import XCTest
@testable import Training

/// `train --precision bf16` end to end (issue #11): it resumes exactly, saves FP32, and refuses
/// what it cannot run; its quality on DermaMNIST is `PrecisionQualityTests`'. On CPUs without
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
}
