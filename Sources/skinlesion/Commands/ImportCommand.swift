import ArgumentParser
import Foundation
import Inference
import Interop
import Models

/// `skinlesion import`: converts a weight file once into a SkinLesion model file, which
/// `predict`, `evaluate` and `serve` then use like any other.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert a model (Keras .h5/.weights.h5/.keras, PyTorch .pth/.pt, safetensors) into a SkinLesion model file.",
        discussion: """
            The format is recognised from the file's content. Keras: Keras 2 .h5 files (weights-only, as Keras \
            Applications ships them, or whole saved models) and Keras 3 .weights.h5 and .keras files; the \
            backbone's layers are matched to the architecture's parameters, and what follows it (Keras's \
            `predictions`, or your own GlobalAveragePooling2D → Dense → BatchNormalization → ReLU → Dropout → … → \
            Dense head) becomes the classifier head. A saved model's configuration is checked: a head that computes \
            anything else is refused, naming the Keras layer. Weights-only files record no activations; their head \
            is assumed to be SkinLesion's, with a warning. PyTorch checkpoints (read without running their pickle) \
            and safetensors carry the architecture's own names; the head is `fc.weight`-style linear or \
            SkinLesion's `fc.0`, `fc.4`, … MLP, read off the tensors' shapes.
            """
    )

    @Option(help: "The weight file.") var from: String
    @Option(help: "Architecture the file holds (see `skinlesion models`).") var arch: String
    @Option(help: "Class names in output order, comma-separated (default: class0, class1, …).") var classes: String?
    @Option(help: "Where to write the SkinLesion model (.safetensors).") var output: String

    func run() throws {
        let architecture = try Architectures.named(arch)
        let imported = try WeightFiles.open(URL(fileURLWithPath: from)).classifier(for: architecture)
        let model = imported.model
        for warning in imported.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let names = classes.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            ?? (0..<model.classes).map { "class\($0)" }
        guard names.count == model.classes else {
            throw ValidationError("--classes names \(names.count) classes, the model in \(from) has \(model.classes) outputs")
        }
        try ModelFile.save(model, classNames: names, to: URL(fileURLWithPath: output))
        print("\(from) (\(imported.format), \(imported.contents)) → \(output): "
              + "\(architecture.name), head \(model.head), \(model.classes) classes, "
              + "\(architecture.inputSize)×\(architecture.inputSize), \(architecture.preprocessing.mode) preprocessing")
    }
}
