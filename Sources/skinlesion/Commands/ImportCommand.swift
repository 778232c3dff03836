import ArgumentParser
import Foundation
import Inference
import Interop
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
            parameters; what follows it (Keras's `predictions`, or your own GlobalAveragePooling2D → Dense → \
            BatchNormalization → ReLU → Dropout → … → Dense head) becomes the classifier head. A saved model's \
            configuration is checked: a head that computes anything else is refused, naming the Keras layer. \
            Weights-only files record no activations; their head is assumed to be SkinLesion's, with a warning.
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
        if !result.headChecked {
            // Weights-only files carry no configuration: the head's operations are assumed.
            FileHandle.standardError.write(Data(("warning: \(from) is a \(result.format.rawValue) file without the model's "
                + "configuration, so the head's activations could not be checked: it is imported as "
                + "SkinLesion computes it (Dense → BatchNormalization → ReLU → Dropout per hidden layer, "
                + "Keras's default BatchNormalization epsilon 1e-3). Import the saved model (.keras, or a Keras 2 "
                + "model.save .h5) to have it checked.\n").utf8))
        }
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
