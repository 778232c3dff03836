import Foundation
import Models

/// A Keras file (`.h5`, `.weights.h5`, `.keras`) converted by the architecture's Keras
/// mapping (`KerasImporter`), layouts exactly, onto the architecture's names.
public struct KerasSource: WeightSource {
    public let file: KerasWeightFile
    public var format: String { file.format.rawValue }

    static let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func recognizes(_ probe: ContentProbe) -> Bool {
        probe.zipPaths.map { $0.contains("model.weights.h5") } ?? probe.prefix.starts(with: hdf5Signature)
    }

    public init(contentsOf url: URL) throws { file = try KerasWeightFile(contentsOf: url) }

    /// The backbone only: `train` never takes a file's head, and Keras Applications'
    /// `include_top=False` files have none.
    public func stateDict(for architecture: Architecture) throws -> StateDict {
        try KerasImporter.backbone(file, architecture: architecture)
    }

    /// The whole model: a saved model's configuration is walked (`KerasImporter.convert`), so
    /// its preprocessing layers, input size and metadata branch come along.
    public func classifier(for architecture: Architecture, metadataInputs: Int?) throws -> ImportedModel {
        let result = try KerasImporter.convert(file, architecture: architecture, metadataInputs: metadataInputs)
        // Weights-only files carry no configuration: the head's operations are assumed.
        var warnings = result.headChecked ? [] : [
            "\(file.file) is a \(result.format.rawValue) file without the model's configuration, so the head's "
            + "activations could not be checked: it is imported as SkinLesion computes it (Dense → "
            + "BatchNormalization → ReLU → Dropout per hidden layer, Keras's default BatchNormalization epsilon "
            + "1e-3). Import the saved model (.keras, or a Keras 2 model.save .h5) to have it checked.",
        ]
        if !result.inputSizeFromFile {
            warnings.append("\(file.file) records no fixed input size; the model is set to \(architecture.name)'s "
                            + "\(result.inputSize)×\(result.inputSize)")
        }
        return ImportedModel(model: result.model, format: result.format.rawValue, contents: "\(result.layerCount) Keras layers with weights",
                             warnings: warnings, inputSize: result.inputSize, preprocessing: result.preprocessing)
    }
}
