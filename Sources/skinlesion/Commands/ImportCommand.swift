import ArgumentParser
import Dermoscopy
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
            parameters; what follows it (Keras's `predictions`, or your own head: GlobalAveragePooling2D or \
            GlobalMaxPooling2D, then any chain of Flatten, Dense (with a built-in activation), \
            BatchNormalization, Activation, ReLU and Dropout, then the output Dense and an optional softmax) \
            becomes the classifier head. A saved model's configuration is walked whole: Rescaling and \
            Normalization layers in front of the backbone become the model's preprocessing, its input shape \
            its input size, a second (metadata) input whose Dense → BatchNormalization → ReLU → Dropout branch \
            is concatenated after the pooled features the metadata-fusion head (with --metadata-spec), and any \
            layer that cannot be mapped (a Lambda, a custom layer, a sigmoid output, …) is refused, naming it and why. Weights-only files record no configuration; \
            their head is assumed to be SkinLesion's, with a warning.
            """
    )

    @Option(help: "The Keras file.") var from: String
    @Option(help: "Architecture the Keras model is (see `skinlesion models`).") var arch: String
    @Option(help: "Class names in output order, comma-separated (default: class0, class1, …).") var classes: String?
    @Option(help: "Where to write the SkinLesion model (.safetensors).") var output: String
    @Option(help: ArgumentHelp("For a model with a second, metadata input: the metadata spec (JSON, the MetadataSpec `train --metadata` stores in its model files) that says how raw age, sex, site … become its vector.", valueName: "file"))
    var metadataSpec: String?

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
        let result = try KerasImporter.load(URL(fileURLWithPath: from), architecture: architecture, metadataInputs: spec?.width)
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
        if !result.inputSizeFromFile {
            FileHandle.standardError.write(Data(("warning: \(from) records no fixed input size; the model is set to "
                + "\(architecture.name)'s \(result.inputSize)×\(result.inputSize).\n").utf8))
        }
        var metadata = ModelMetadata(architecture: architecture.name, classNames: names, head: model.head,
                                     inputSize: result.inputSize, preprocessing: result.preprocessing)
        (metadata.metadataSpec, metadata.fusion) = (spec, model.fusion)
        try ModelFile.save(model, metadata: metadata, to: URL(fileURLWithPath: output))
        print("\(from) (\(result.format.rawValue), \(result.layerCount) layers with weights) → \(output): "
              + "\(architecture.name), head \(model.head.summary), \(model.classes) classes, "
              + "\(result.inputSize)×\(result.inputSize), preprocessing \(result.preprocessing.summary)")
    }
}
