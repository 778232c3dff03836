import ArgumentParser
import Dermoscopy
import Foundation
import Inference
import Interop

/// `skinlesion export`: writes a model file as ONNX, for runtimes that are not SkinLesion
/// (ONNX Runtime, TensorRT, OpenVINO, a phone). The file computes what `predict` computes.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a model as ONNX, with any batch size: outputs `logits` and `probabilities`.",
        discussion: """
            The image input is [batch, 3, size, size], normalized as the model's preprocessing says; with \
            --with-preprocessing the normalization is in the graph and the input is RGB pixels in [0, 255]. \
            `probabilities` is the softmax of the logits divided by the calibration temperature when the model \
            has one. A metadata-fusion model has a second input, `metadata` [batch, width], the patient data encoded \
            by the model's metadata spec, which the file records as JSON. Class names, input size and preprocessing \
            are in the file's metadata too. A layer that ONNX cannot express exactly is refused by name, never \
            approximated.
            """
    )

    @Option(help: "Model file.") var model: String
    @Option(help: "Where to write the ONNX model.") var output: String
    @Option(help: "ONNX operator set, \(ONNXExportOptions.supportedOpsets.lowerBound)–\(ONNXExportOptions.supportedOpsets.upperBound).")
    var opset = ONNXExportOptions.defaultOpset
    @Flag(help: "Put the model's normalization in the graph, so it takes RGB pixels in [0, 255].")
    var withPreprocessing = false

    func validate() throws {
        try OneProcess.require("export")
        guard ONNXExportOptions.supportedOpsets.contains(opset) else {
            throw ValidationError("--opset must be \(ONNXExportOptions.supportedOpsets.lowerBound)–"
                                  + "\(ONNXExportOptions.supportedOpsets.upperBound), got \(opset)")
        }
    }

    func run() throws {
        let url = URL(fileURLWithPath: model)
        let (classifier, metadata) = try ModelFile.load(from: url)
        // The graph must normalize as every SkinLesion consumer does, so the mode must be one they know.
        _ = try metadata.preprocessing.normalization(source: url.lastPathComponent)
        var options = ONNXExportOptions(inputSize: metadata.inputSize, classNames: metadata.classNames,
                                        temperature: metadata.temperature, preprocessing: metadata.preprocessing,
                                        includesPreprocessing: withPreprocessing, opset: opset,
                                        producerVersion: SkinLesion.version, doc: metadata.intendedUse)
        options.metadataSpec = try metadata.metadataSpec.map { String(decoding: try $0.encoded(), as: UTF8.self) }
        let summary = try ONNXExporter.write(classifier, options: options, to: URL(fileURLWithPath: output))
        let size = metadata.inputSize
        print("\(model) → \(output): \(metadata.architecture), opset \(summary.opset), \(summary.nodes) nodes, "
              + "\(summary.initializers) initializers, \(summary.bytes) bytes; input image [batch, 3, \(size), \(size)] "
              + (withPreprocessing ? "RGB 0–255" : "\(metadata.preprocessing.mode)-normalized")
              + (classifier.fusion.map { ", metadata [batch, \($0.inputs)]" } ?? "")
              + ", outputs logits and probabilities [batch, \(metadata.classNames.count)]"
              + (metadata.temperature.map { " (temperature \($0))" } ?? ""))
    }
}
