import ArgumentParser
import Foundation
import Inference
import KerasImport
import Models

/// `skinlesion import`: converts a Keras model once into a SkinLesion model file, which
/// `predict`, `evaluate` and `serve` then use like any other.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert a Keras model (.h5, .weights.h5, .keras) into a SkinLesion model file.",
        discussion: """
            Reads Keras 2 .h5 files (weights-only, as Keras Applications ships them, or whole saved models) and \
            Keras 3 .weights.h5 and .keras files. The backbone's layers are matched to the architecture's \
            parameters; what follows it (Keras's `predictions`, or your own Dense → BatchNormalization → \
            Dropout → … → Dense head) becomes the classifier head.
            """
    )

    @Option(help: "The Keras file.") var from: String
    @Option(help: "Architecture the Keras model is (see `skinlesion models`).") var arch: String
    @Option(help: "Class names in output order, comma-separated (default: class0, class1, …).") var classes: String?
    @Option(help: "Where to write the SkinLesion model (.safetensors).") var output: String

    func run() throws {
        let architecture = try Architectures.named(arch)
        let result = try KerasImporter.load(URL(fileURLWithPath: from), architecture: architecture)
        let model = result.model
        let names = classes.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            ?? (0..<model.classes).map { "class\($0)" }
        guard names.count == model.classes else {
            throw ValidationError("--classes names \(names.count) classes, the Keras model has \(model.classes) outputs")
        }
        try ModelFile.save(model, classNames: names, to: URL(fileURLWithPath: output))
        print("\(from) (\(result.format.rawValue), \(result.layerCount) layers with weights) → \(output): "
              + "\(architecture.name), head \(model.head), \(model.classes) classes, "
              + "\(architecture.inputSize)×\(architecture.inputSize), \(architecture.preprocessing.mode) preprocessing")
    }
}
