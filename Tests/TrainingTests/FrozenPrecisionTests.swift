import Dermoscopy
import Foundation
import Inference
import Models
import NeuralNet
import TestSupport
import XCTest
@testable import Training

/// `train --frozen-precision int8|bf16` (#11, "frozen means fast"): the int8 frozen stages agree
/// with their FP32 selves on real images, calibration is deterministic and leaves the FP32
/// weights alone, a short `--freeze layer4` run trains close to the FP32 run and saves an
/// ordinary FP32 model, a stopped run resumes to the same weights, and the refusals say why.
/// ResNet-50 (the architecture the int8 path covers) at 64² on real HAM10000 images; no
/// ImageNet ResNet-50 weights exist on these machines, so it starts from its seeded random
/// initialization (BatchNorm running statistics 0 and 1).
final class FrozenPrecisionTests: XCTestCase {
    var directory: URL!

    /// TestSupport's fresh directory, removed when the test ends.
    override func setUpWithError() throws { directory = try temporaryDirectory("skinlesion-frozen") }

    /// 64 real HAM10000 images, lesion-grouped 70/30 split.
    func data() throws -> (Dataset, SplitManifest) { try TrainerTests.hamSample(64) }

    func config(_ precision: Precision) -> TrainingConfig {
        var config = TrainingConfig()
        config.architecture = "resnet50"
        config.imageSize = 64
        config.epochs = 1
        config.batchSize = 8
        config.freeze = .until("layer4")
        config.optimizer = .sgd
        config.learningRate = 0.01
        config.augmentation = .dermoscopy
        config.seed = 5
        config.frozenPrecision = precision
        config.frozenCalibrationImages = precision == .int8 ? 16 : nil
        return config
    }

    /// `config(frozen)` on BatchNorm's running statistics at lr 1e-4 (on running statistics 0.01
    /// and 1e-3 raise the loss from this random start), trainable stages at `precision`: the
    /// setting in which runs through low-precision frozen stages are compared with FP32.
    func onRunningStatistics(_ frozen: Precision, precision: Precision? = nil) -> TrainingConfig {
        var config = config(frozen)
        config.frozenBatchNorm = true
        config.learningRate = 1e-4
        config.precision = precision
        return config
    }

    private func trainer(_ name: String, _ config: TrainingConfig, log: @escaping (String) -> Void = { _ in }) throws -> Trainer {
        let (dataset, manifest) = try data()
        return try Trainer(config: config, dataset: dataset, manifest: manifest,
                           run: RunDirectory(directory.appendingPathComponent(name)), weights: nil, log: log)
    }

    /// Relative L2 distance ‖a − b‖ / ‖b‖.
    private func distance(_ a: [Float], _ b: [Float]) -> Float {
        let difference = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        return (difference / max(b.map { $0 * $0 }.reduce(0, +), 1e-30)).squareRoot()
    }

    /// ‖w_low − w_fp32‖ / ‖w_fp32 − w_start‖ over the trainable layer4 and fc weights of two
    /// `--freeze layer4` runs from the same `start`, asserting on the way that every frozen
    /// parameter is still its start value and that training moved the weights (and the
    /// low-precision run differs from FP32: it did run its frozen stages at its precision).
    private func trainedDistance(_ low: Trainer, _ fp32: Trainer, start: [[Float]], precision: String,
                                 file: StaticString = #filePath, line: UInt = #line) -> Float {
        var moved: Float = 0, apart: Float = 0
        for (((name, a), (_, b)), initial) in zip(zip(low.model.namedParameters, fp32.model.namedParameters), start) {
            if name.hasPrefix("layer4.") || name.hasPrefix("fc.") {
                guard a.kind == .weight else { continue }
                moved += zip(b.values, initial).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
                apart += zip(a.values, b.values).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
            } else {
                XCTAssertEqual(a.values, initial, "\(name) is frozen and must not change", file: file, line: line)
            }
        }
        let ratio = (apart / moved).squareRoot()
        print("freeze layer4 through \(precision) frozen stages, \(low.progress.step) steps: ‖w_\(precision) − w_fp32‖ / "
              + "‖w_fp32 − w_start‖ = \(String(format: "%.4f", ratio)) over layer4 and fc weights")
        XCTAssertGreaterThan(moved, 0, "training must move the trainable weights", file: file, line: line)
        XCTAssertGreaterThan(apart, 0, "the \(precision) run must have run its frozen stages in \(precision), not FP32",
                             file: file, line: line)
        return ratio
    }

    /// The frozen stages (stem … layer3) in int8 against FP32 on real validation images that
    /// calibration never saw. Measured here: relative L2 error 0.034, cosine 0.9994 (printed);
    /// the bound leaves room for other CPUs (7-bit weights without VNNI).
    func testInt8FrozenStagesMatchFP32OnRealImagesAndCalibrationIsDeterministic() throws {
        let trainer = try self.trainer("prefix", config(.int8))
        let model = trainer.model
        let before = model.namedParameters.map { $0.parameter.values }
        func stages() throws -> FrozenInt8Stages {
            try FrozenInt8Stages(model: model, below: "layer4", train: trainer.train, images: 16, seed: 5, pipeline: trainer.pipeline,
                                 batchSize: 8, threads: 1, run: trainer.run, shown: false, log: { _ in })
        }
        let frozen = try stages()
        XCTAssertEqual(frozen.record.images, 16)
        XCTAssertEqual(frozen.record.layers.count, 1 + 3 * 3 + 1 + 4 * 3 + 1 + 6 * 3 + 1, "stem, layer1 … layer3 with their shortcuts")
        XCTAssertEqual(frozen.record.layers["layer3.5.conv3"]?.output, .f32, "the last frozen convolution hands FP32 to layer4")
        XCTAssertNil(frozen.record.layers["layer4.0.conv1"], "layer4 trains and is not quantized")
        XCTAssertEqual(try stages().record, frozen.record, "calibration on the same seeded images gives the same scales, bit for bit")
        for ((name, _), (a, b)) in zip(model.namedParameters, zip(before, model.namedParameters.map { $0.parameter.values })) {
            XCTAssertEqual(a, b, "\(name): quantizing the frozen stages must leave the FP32 weights as they are")
        }

        var options = DataLoader.Options()
        options.batchSize = 8
        let loader = try DataLoader(samples: trainer.validation, pipeline: trainer.pipeline, options: options)
        let batches = loader.epoch(Array(trainer.validation.indices), epoch: 0)
        var fp32: [Float] = [], int8: [Float] = []
        while let batch = try batches.next() {
            func run(_ precision: Precision) throws -> [Float] {
                try frozen.run(at: precision)
                var x = batch.images
                for module in frozen.modules { x = try module.forward(x, mode: .inference) }
                XCTAssertEqual(x.shape, [batch.labels.count, 1024, 4, 4])
                return try x.toArray()
            }
            fp32 += try run(.fp32)
            int8 += try run(.int8)
        }
        let error = distance(int8, fp32)
        let dot: Float = zip(int8, fp32).map(*).reduce(0, +)
        let norms: Float = int8.map { $0 * $0 }.reduce(0, +) * fp32.map { $0 * $0 }.reduce(0, +)
        let cosine = dot / norms.squareRoot()
        print(String(format: "frozen stem…layer3, %d real val images at 64²: int8 vs fp32 relative L2 error %.4f, cosine %.5f",
                     trainer.validation.count, error, cosine))
        XCTAssertLessThan(error, 0.1)
        XCTAssertGreaterThan(cosine, 0.995)
    }

    /// One epoch of `--freeze layer4` with augmentation through int8 frozen stages and through
    /// FP32 ones, from the same weights: the trainable weights (layer4 and the head) move the
    /// same way. Measured: ‖w_int8 − w_fp32‖ / ‖w_fp32 − w_start‖ = 0.17 (see the printed line),
    /// bound 0.3.
    ///
    /// With `--frozen-bn`: the randomly initialised ResNet-50's layer4 gradients are chaotic in
    /// their input when BatchNorm normalises over a batch of 8 at 2×2 (measured on one batch:
    /// 0.1 % Gaussian noise on the layer3 features changes them by 16 %, 3.4 % noise by 100 %,
    /// int8's 3.3 % error by 93 %), so there the comparison would measure that chaos, not int8.
    /// On running statistics the same batch gives 12 % for int8 against 10 % for 3.4 % noise:
    /// int8 perturbs training like noise of its size, and no more. The resume test trains on
    /// batch statistics. The frozen weights stay bit-identical and the saved model is FP32.
    func testFreezeLayer4TrainsThroughInt8CloseToFP32AndSavesFP32() throws {
        let int8Config = onRunningStatistics(.int8), fp32Config = onRunningStatistics(.fp32)
        let start = try trainer("start", fp32Config).model.namedParameters.map { $0.parameter.values }
        var messages: [String] = []
        let int8 = try trainer("int8", int8Config, log: { messages.append($0) })
        let fp32 = try trainer("fp32", fp32Config)
        try int8.fit()
        try fp32.fit()
        XCTAssertTrue(messages.contains { $0.contains("run in int8, calibrated (min/max) on 16 training images") }, "\(messages)")

        let ratio = trainedDistance(int8, fp32, start: start, precision: "int8")
        XCTAssertLessThan(ratio, 0.3)

        let losses = [int8, fp32].map { EpochRecord.read(from: $0.run)[0].trainLoss }
        XCTAssertEqual(losses[0], losses[1], accuracy: 0.05 * losses[1], "train loss through int8 stages")

        let saved = try Predictor(modelFile: int8.run.bestModel)
        XCTAssertEqual(saved.precision, .fp32, "the trained model file is FP32")
        XCTAssertNil(saved.metadata.quantization)
        let settings = try JSONDecoder().decode(TrainingConfig.self, from: try JSONEncoder().encode(int8.config))
        XCTAssertEqual(settings.frozenPrecision, .int8)
        XCTAssertTrue(FileManager.default.fileExists(atPath: int8.run.frozenCalibration.path))
    }

    /// Frozen stages in int8 while the trainable layer4 and head train in bf16 (issue #11, item
    /// 4; emulated where the CPU lacks AVX512_BF16): the frozen weights stay bit-identical, the
    /// training loss stays within 5 % of the all-FP32 run's, and the model file is FP32.
    func testInt8FrozenStagesUnderBF16Training() throws {
        let start = try trainer("start", onRunningStatistics(.fp32)).model.namedParameters.map { $0.parameter.values }
        let plain = try trainer("fp32", onRunningStatistics(.fp32))
        try plain.fit()
        let mixed = try withBF16 { () -> Trainer in
            let mixed = try trainer("int8-bf16", onRunningStatistics(.int8, precision: .bf16))
            try mixed.fit()
            return mixed
        }
        _ = trainedDistance(mixed, plain, start: start, precision: "int8 + bf16")
        let losses = [mixed, plain].map { EpochRecord.read(from: $0.run)[0].trainLoss }
        print("int8 frozen + bf16 trainable: train loss \(losses[0]) against FP32's \(losses[1])")
        XCTAssertEqual(losses[0], losses[1], accuracy: 0.05 * losses[1], "train loss")
        XCTAssertEqual(try Predictor(modelFile: mixed.run.bestModel).precision, .fp32, "the trained model file is FP32")
    }

    /// `--frozen-precision bf16` (emulated where the CPU lacks AVX512_BF16): one `--freeze
    /// layer4` epoch through bf16 frozen stages trains the FP32 layer4 and head the way the FP32
    /// run does, the frozen weights stay bit-identical, and the model file is FP32 with a card
    /// that says how it was trained. Settings as the int8 test's (running statistics, lr 1e-4),
    /// so the two ratios compare: measured 0.052 for bf16 against int8's 0.17 (bound 0.1).
    func testFreezeLayer4TrainsThroughBF16CloseToFP32AndSavesFP32() throws {
        let start = try trainer("start", onRunningStatistics(.fp32)).model.namedParameters.map { $0.parameter.values }
        let fp32 = try trainer("fp32", onRunningStatistics(.fp32))
        try fp32.fit()
        var messages: [String] = []
        let bf16 = try withBF16 { () -> Trainer in
            let bf16 = try trainer("bf16", onRunningStatistics(.bf16), log: { messages.append($0) })
            try bf16.fit()
            return bf16
        }
        if !CPUISA.effective.includes(.avx512CoreBF16) {
            XCTAssertTrue(messages.contains { $0.contains("oneDNN emulates bf16") }, "an emulated run says so: \(messages)")
        }
        let ratio = trainedDistance(bf16, fp32, start: start, precision: "bf16")
        XCTAssertLessThan(ratio, 0.1)
        let losses = [bf16, fp32].map { EpochRecord.read(from: $0.run)[0].trainLoss }
        XCTAssertEqual(losses[0], losses[1], accuracy: 0.02 * losses[1], "train loss through bf16 frozen stages")
        let saved = try Predictor(modelFile: bf16.run.bestModel)
        XCTAssertEqual(saved.precision, .fp32, "the trained model file is FP32")
        let card = try XCTUnwrap(saved.metadata.training?.settings)
        XCTAssertTrue(card.contains("frozen stages trained through bf16 (saved in FP32)"), card)
        XCTAssertFalse(FileManager.default.fileExists(atPath: bf16.run.frozenCalibration.path), "bf16 calibrates nothing")
    }

    /// A run stopped mid-epoch and resumed (from the recorded calibration) ends with the same
    /// weights and log as the uninterrupted one.
    func testStoppedInt8RunResumesToTheSameWeights() throws {
        var config = config(.int8)
        config.epochs = 2
        let straight = try trainer("straight", config)
        try straight.fit()
        let first = try trainer("interrupted", config)
        XCTAssertEqual(try first.fit(stopAfterSteps: 3).step, 3)
        var messages: [String] = []
        let resumed = try trainer("interrupted", config, log: { messages.append($0) })
        try resumed.fit()
        XCTAssertTrue(messages.contains { $0.contains("with the calibration in frozen-int8.json") }, "\(messages)")
        for ((name, a), (_, b)) in zip(straight.model.namedParameters, resumed.model.namedParameters) {
            XCTAssertEqual(a.values, b.values, "\(name) differs after resuming")
        }
        let logs = [straight.run, resumed.run].map { EpochRecord.read(from: $0).map { [$0.trainLoss, $0.valLoss, $0.valBalancedAccuracy] } }
        XCTAssertEqual(logs[0].count, 2)
        XCTAssertEqual(logs[0], logs[1])
    }

    /// A run directory's `frozen-int8.json` is outside input: edited by hand, a resume refuses it,
    /// naming the file and what is wrong, instead of training through scales calibration would
    /// never make (a u8 last output clipping what layer4 receives, a u8 output without a ReLU
    /// dropping negatives, a stem without its input scale, a convolution too many or too few).
    func testResumeRefusesAnEditedCalibration() throws {
        var config = config(.int8)
        config.epochs = 2
        let stopped = try trainer("stopped", config)
        try stopped.fit(stopAfterSteps: 2)
        let url = stopped.run.frozenCalibration
        let original = try JSONDecoder().decode(QuantizationRecord.self, from: Data(contentsOf: url))
        func edited(_ change: (inout QuantizationRecord) -> Void) -> QuantizationRecord {
            var record = original
            change(&record)
            return record
        }
        let shortcut = try XCTUnwrap(original.layers.keys.first { $0.hasSuffix("downsample.0") })
        let cases: [(QuantizationRecord, String)] = [
            (edited { $0.layers["layer3.5.conv3"]!.output = .u8 }, "0 convolutions an f32 output"),
            (edited { $0.layers["layer2.0.conv1"]!.output = .f32 }, "2 convolutions an f32 output"),
            (edited { $0.layers[shortcut]!.output = .u8 }, "\(shortcut) write u8, but it has no ReLU"),
            (edited { $0.layers["conv1"]!.inputScale = nil }, "0 convolutions an input scale"),
            (edited { $0.layers["layer1.0.conv2"]!.inputScale = 0.5 }, "2 convolutions an input scale"),
            (edited { $0.layers["layer4.0.conv1"] = $0.layers["layer1.0.conv1"] }, "unexpected [layer4.0.conv1]"),
            (edited { $0.layers["layer3.5.conv3"] = nil }, "missing [layer3.5.conv3]"),
        ]
        let encoder = JSONEncoder()
        for (record, expected) in cases {
            try encoder.encode(record).write(to: url)
            XCTAssertThrowsError(try trainer("stopped", config).fit(), expected) {
                XCTAssertTrue("\($0)".contains(url.path) && "\($0)".contains(expected), "\($0)")
            }
        }
        try encoder.encode(original).write(to: url)
        XCTAssertTrue(try trainer("stopped", config).fit().finished, "the recorded calibration itself resumes")
    }

    /// bf16 on a CPU without AVX512_BF16, nothing frozen, and an architecture the int8 path
    /// does not cover are refused, naming what is needed and what there is; bf16 on a CPU with
    /// it is accepted for any architecture.
    func testRefusalsNameWhatIsMissing() throws {
        func message(_ config: TrainingConfig, isa: CPUISA = .effective) -> String {
            do {
                try config.validateFrozenPrecision(isa: isa)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        var bf16 = config(.bf16)
        let noBF16 = message(bf16, isa: .avx2)
        XCTAssertTrue(noBF16.contains("--frozen-precision bf16 needs AVX-512 with AVX512_BF16") && noBF16.contains("avx2"), noBF16)
        if !Precision.bf16.isEmulated(on: .avx512CoreVNNI) {   // SKINLESION_BF16_EMULATION unset
            let vnni = message(bf16, isa: .avx512CoreVNNI)
            XCTAssertTrue(vnni.contains("avx512_core_vnni") && vnni.contains("SKINLESION_BF16_EMULATION=1"), vnni)
        }
        XCTAssertEqual(message(bf16, isa: .avx512CoreBF16), "accepted")
        var liteBF16 = bf16
        liteBF16.architecture = "efficientnet-lite0"
        liteBF16.freeze = .until("_blocks.15")
        XCTAssertEqual(message(liteBF16, isa: .avx512CoreBF16), "accepted", "bf16 needs no quantizer: every architecture runs it")
        let liteNoBF16 = message(liteBF16, isa: .avx2)
        XCTAssertTrue(liteNoBF16.contains("use --frozen-precision fp32;") || liteNoBF16.hasSuffix("use --frozen-precision fp32"),
                      "int8 is not suggested where the int8 path does not cover the architecture: \(liteNoBF16)")
        XCTAssertTrue(noBF16.contains("use --frozen-precision fp32 or int8"), "ResNet-50 can take int8 instead: \(noBF16)")
        bf16.freeze = .none
        XCTAssertTrue(message(bf16).contains("there is no frozen part"))

        var none = config(.int8)
        none.freeze = .none
        XCTAssertTrue(message(none).contains("--freeze none trains every stage: there is no frozen part"), message(none))
        XCTAssertThrowsError(try none.validate(), "validate() checks the frozen precision too")

        var lite = config(.int8)
        lite.architecture = "efficientnet-lite0"
        lite.freeze = .until("_blocks.15")
        let unsupported = message(lite)
        XCTAssertTrue(unsupported.contains("efficientnet-lite0") && unsupported.contains("resnet50, resnet50-keras"), unsupported)

        var fromStem = config(.int8)
        fromStem.freeze = .until("conv1")
        XCTAssertThrowsError(try trainer("stem", fromStem).fit()) {
            XCTAssertTrue("\($0)".contains("nothing is frozen below conv1"), "\($0)")
        }
        var noImages = config(.int8)
        noImages.frozenCalibrationImages = 0
        XCTAssertTrue(message(noImages).contains("--frozen-calibration-images must be in 1…"))
        XCTAssertEqual(message(config(.fp32), isa: .sse41), "accepted", "fp32 needs nothing")
    }
}
