import ArgumentParser
import Dermoscopy
import Foundation
import Inference
import NeuralNet

/// `skinlesion quantize`: post-training static int8 quantization of an FP32 model file,
/// calibrated on images of a split (README "INT8 inference").
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Make an int8 model file: BatchNorm folded, per-channel s8 weights, u8 activations calibrated on a split.",
        discussion: "Covers \(Quantizer.supportedArchitectures.joined(separator: ", ")); other architectures are refused by name."
    )

    @Option(help: "FP32 model file.") var model: String
    @OptionGroup var selection: SplitSelection
    @Option(help: "Calibration images, drawn from the split with a fixed seed.") var images = 512
    @Option(help: "How activation ranges become scales: minmax or percentile (99.99th, per batch).")
    var calibration = Calibration.minmax
    @Option(help: "Where to write the int8 model file.") var output: String
    @Option(help: "Compute threads (default: all cores).") var threads: Int?

    func validate() throws {
        try OneProcess.require("quantize")
        guard images >= 1 else { throw ValidationError("--images must be at least 1") }
    }

    func run() throws {
        if let threads { Engine.threads = threads }
        let modelURL = URL(fileURLWithPath: model)
        let predictor = try Predictor(modelFile: modelURL, precision: .fp32)
        guard predictor.metadata.precision != .int8 else {
            throw ValidationError("\(model) is already an int8 file; quantize its FP32 original")
        }
        try Quantizer.requireSupported(predictor.metadata.architecture, file: modelURL.lastPathComponent)
        let (dataset, records, description) = try selection.records(besideModel: modelURL, defaultSplit: "val")
        var rng = SeededGenerator(seed: 0)
        let chosen = records.shuffled(using: &rng).prefix(images).map { dataset.url(of: $0) }
        FileHandle.standardError.write(Data("quantize: calibrating on \(chosen.count) images (\(description)), \(calibration.rawValue)\n".utf8))
        let metadata = try Quantizer(calibration: calibration).quantize(predictor, images: Array(chosen), split: selection.split ?? "val") {
            FileHandle.standardError.write(Data("quantize: \($0)\n".utf8))
        }
        try ModelFile.saveQuantized(predictor.model, metadata: metadata, to: URL(fileURLWithPath: output))
        print("wrote \(output): int8, \(metadata.quantization!.layers.count) quantized convolutions")
    }
}

extension Calibration: ExpressibleByArgument {}
