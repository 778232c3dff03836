import Dermoscopy
import Foundation
import Inference
import Models
import NeuralNet

/// `--frozen-precision int8`: the frozen stages quantized as `skinlesion quantize` does
/// (BatchNorm folded, per-channel s8 weights, u8/s8 activations with calibrated scales), ending
/// in an f32 output. Their FP32 parameters stay untouched (`replacingFP32: false`).
struct FrozenInt8Stages: FrozenStages {
    let modules: [any Layer]
    let record: QuantizationRecord
    var precision: Precision { .int8 }
    var summary: String { "frozen stages trained through int8 (calibrated on \(record.images) training images; saved in FP32)" }

    /// Reuses the run's recorded calibration when it has one (a resumed run: the same scales,
    /// whatever the thread count), else calibrates on `images` training images chosen by
    /// `seed` and seen without augmentation, and quantizes the modules below `stage`.
    init(model: Classifier, below stage: String, train: [LoaderSample], images: Int, seed: UInt64,
         pipeline: ImagePipeline, batchSize: Int, threads: Int, run: RunDirectory, shown: Bool, log: (String) -> Void) throws {
        modules = try Self.modules(of: model, below: stage, precision: .int8)
        if let recorded = try Self.read(run.frozenCalibration) {
            record = recorded
            log("frozen stages below \(stage) run in int8 with the calibration in \(run.frozenCalibration.lastPathComponent) "
                + "(\(recorded.images) training images)")
        } else {
            let chosen = Self.calibrationSamples(train, count: images, seed: seed)
            var options = DataLoader.Options()
            options.batchSize = batchSize
            options.threads = threads
            let loader = try DataLoader(samples: chosen, pipeline: pipeline, options: options)
            let batches = loader.epoch(Array(chosen.indices), epoch: 0)
            var bar = ProgressBar(title: "int8 calibration", total: batches.count, shown: shown)
            var done = 0
            record = try Quantizer(calibration: .minmax).calibrate(model, modules: modules, split: "train") {
                guard let batch = try batches.next() else { return nil }
                done += 1
                bar.update(done: done, images: min(done * batchSize, chosen.count), status: "calibrating the frozen stages")
                return batch.images
            }
            log("frozen stages below \(stage) run in int8, calibrated (min/max) on \(chosen.count) training images")
        }
        do {
            try Quantizer.apply(record, to: model, modules: modules, replacingFP32: false)
        } catch NeuralNetError.invalidArgument(let message) {
            throw TrainingError.badRun("\(run.frozenCalibration.path): \(message)")
        }
    }

    /// `count` training samples (all when there are fewer), drawn by `seed` and kept in split order.
    static func calibrationSamples(_ train: [LoaderSample], count: Int, seed: UInt64) -> [LoaderSample] {
        var generator = SeededGenerator(seed: seed ^ 0x1A7E_C0DE_F20E_0008)
        return Array(train.indices).shuffled(using: &generator).prefix(count).sorted().map { train[$0] }
    }

    /// Writes the calibration so that a resumed run uses the same scales.
    func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(record), to: url)
    }

    /// The recorded calibration, or nil when the run has none; bounded before it is decoded.
    private static func read(_ url: URL) throws -> QuantizationRecord? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        guard size <= 1 << 20 else { throw TrainingError.badRun("\(url.path) is \(size) bytes; a calibration record is under 1 MiB") }
        let record: QuantizationRecord
        do {
            record = try JSONDecoder().decode(QuantizationRecord.self, from: Data(contentsOf: url))
        } catch {
            throw TrainingError.badRun("\(url.path) cannot be read: \(error)")
        }
        let problems = ModelLimits.problems(in: record)
        guard problems.isEmpty else { throw TrainingError.badRun("\(url.path): \(problems.joined(separator: "; "))") }
        return record
    }
}
