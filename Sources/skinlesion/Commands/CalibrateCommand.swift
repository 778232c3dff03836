import ArgumentParser
import Foundation
import Inference
import NeuralNet
import Training

/// `skinlesion calibrate`: fits a softmax temperature on a validation split (Guo et al. 2017)
/// and stores it in the model file, so every later prediction reports calibrated confidence.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Fit a calibration temperature on the validation split and store it in the model file."
    )

    @Option(help: "Model file to calibrate (rewritten in place, atomically).") var model: String
    @OptionGroup var selection: SplitSelection
    @Option(help: "Compute threads (default: all cores).") var threads: Int?

    func validate() throws { try OneProcess.require("calibrate") }

    func run() throws {
        if let threads { Engine.threads = threads }
        let modelURL = URL(fileURLWithPath: model)
        let predictor = try Predictor(modelFile: modelURL)
        let (dataset, records, description) = try selection.records(besideModel: modelURL, defaultSplit: "val")
        let classes = predictor.metadata.classNames
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let labels = try records.map { record -> Int in
            guard let label = index[record.label] else {
                throw ValidationError("image \(record.imageID) has label '\(record.label)', which the model does not know")
            }
            return label
        }
        let logits = try predictor.logits(records.map { try predictor.view(of: dataset.url(of: $0)) })
        let temperature = try TemperatureScaling.fit(logits: logits, labels: labels, classes: classes.count)
        func ece(_ t: Float) throws -> Double {
            let p = TemperatureScaling.apply(logits, classes: classes.count, temperature: t)
            return EvaluationReport.compute(try EvaluationInput(probabilities: p, labels: labels, classes: classes)).expectedCalibrationError
        }
        var metadata = predictor.metadata
        let before = try ece(metadata.temperature ?? 1)
        metadata.temperature = temperature
        try ModelFile.save(predictor.model, metadata: metadata, to: modelURL)
        print(String(format: "temperature %.4f fitted on %d images (%@); ECE %.4f → %.4f; stored in %@",
                     temperature, records.count, description, before, try ece(temperature), modelURL.lastPathComponent))
    }
}
