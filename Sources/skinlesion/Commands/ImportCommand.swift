import ArgumentParser
import Dermoscopy
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
            Applications ships them, or whole saved models) and Keras 3 .weights.h5 and .keras files. The \
            backbone's layers are matched to the architecture's parameters; what follows it (Keras's \
            `predictions`, or your own head: GlobalAveragePooling2D or GlobalMaxPooling2D, then any chain of \
            Flatten, Dense (with a built-in activation), BatchNormalization, Activation, ReLU and Dropout, then \
            the output Dense and an optional softmax) becomes the classifier head. A saved model's configuration \
            is walked whole: Rescaling and Normalization layers in front of the backbone become the model's \
            preprocessing, its input shape its input size, a second (metadata) input whose Dense → \
            BatchNormalization → ReLU → Dropout branch is concatenated after the pooled features the \
            metadata-fusion head (with --metadata-spec), and any layer that cannot be mapped (a Lambda, a custom \
            layer, a sigmoid output, …) is refused, naming it and why. Weights-only files record no \
            configuration; their head is assumed to be SkinLesion's, with a warning. PyTorch checkpoints (read \
            without running their pickle) and safetensors carry the architecture's own names; the head is \
            `fc.weight`-style linear or SkinLesion's `fc.0`, `fc.4`, … MLP, read off the tensors' shapes.
            """
    )

    @Option(help: "The weight file.") var from: String
    @Option(help: "Architecture the file holds (see `skinlesion models`).") var arch: String
    @Option(help: "Class names in output order, comma-separated (default: class0, class1, …).") var classes: String?
    @Option(help: "Where to write the SkinLesion model (.safetensors).") var output: String
    @Option(help: ArgumentHelp("For a model with a second, metadata input: the metadata spec (JSON, the MetadataSpec `train --metadata` stores in its model files) that says how raw age, sex, site … become its vector.", valueName: "file"))
    var metadataSpec: String?

    func validate() throws { try OneProcess.require("import") }

    func run() throws {
        let architecture = try Architectures.named(arch)
        let spec = try metadataSpec.map { path -> MetadataSpec in
            let spec: MetadataSpec
            do { spec = try JSONDecoder().decode(MetadataSpec.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                throw ValidationError("--metadata-spec \(path): not a metadata spec (\(error))")
            }
            do { try spec.validate() } catch { throw ValidationError("--metadata-spec \(path): \(error)") }
            return spec
        }
        let imported = try WeightFiles.open(URL(fileURLWithPath: from)).classifier(for: architecture, metadataInputs: spec?.width)
        let model = imported.model
        for warning in imported.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let names = classes.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            ?? (0..<model.classes).map { "class\($0)" }
        guard names.count == model.classes else {
            throw ValidationError("--classes names \(names.count) classes, the model in \(from) has \(model.classes) outputs")
        }
        var metadata = ModelMetadata(architecture: architecture.name, classNames: names, head: model.head,
                                     inputSize: imported.inputSize, preprocessing: imported.preprocessing)
        (metadata.metadataSpec, metadata.fusion) = (spec, model.fusion)
        try ModelFile.save(model, metadata: metadata, to: URL(fileURLWithPath: output))
        print("\(from) (\(imported.format), \(imported.contents)) → \(output): "
              + "\(architecture.name), head \(model.head.summary), \(model.classes) classes, "
              + "\(imported.inputSize)×\(imported.inputSize), preprocessing \(imported.preprocessing.summary)")
    }
}
