import Dermoscopy
import Foundation
import Models
import NeuralNet

/// What a SkinLesion model file says about itself, stored as JSON under the `skinlesion`
/// key of the safetensors `__metadata__` block, so any safetensors reader still loads the
/// weights and every SkinLesion consumer knows how to feed them.
public struct ModelMetadata: Codable, Sendable, Equatable {
    public static let formatVersion = 1
    public static let intendedUse = """
        Research use only. SkinLesion models are not medical devices and must not be used to diagnose, \
        treat or triage patients; a dermatologist must assess any lesion of concern.
        """

    public var formatVersion = Self.formatVersion
    public var architecture: String
    public var classNames: [String]
    public var head: HeadConfig
    public var inputSize: Int
    public var preprocessing: Preprocessing
    public var intendedUse = Self.intendedUse
    /// Softmax temperature fitted by `skinlesion calibrate` on a validation split; nil until then.
    public var temperature: Float?
    /// How the model was trained and how well it did on validation; nil for imported weights.
    public var training: TrainingSummary?
    /// How raw patient metadata becomes the fusion head's input; set exactly when `fusion` is.
    public var metadataSpec: MetadataSpec?
    public var fusion: MetadataFusion?
    /// The number format the weights are stored for: nil or `.fp32` for FP32 files, `.int8`
    /// for `skinlesion quantize`'s output, which then has `quantization`.
    public var precision: Precision?
    public var quantization: QuantizationRecord?

    public init(architecture: String, classNames: [String], head: HeadConfig, inputSize: Int, preprocessing: Preprocessing) {
        self.architecture = architecture
        self.classNames = classNames
        self.head = head
        self.inputSize = inputSize
        self.preprocessing = preprocessing
    }
}

/// The facts a model card reports about training, recorded when the model is saved.
public struct TrainingSummary: Codable, Sendable, Equatable {
    public var datasets: [String]
    public var splitProtocol: String
    public var imagesPerSplit: [String: Int]
    public var classCounts: [String: Int]
    public var epochsTrained: Int
    public var bestEpoch: Int
    public var validationBalancedAccuracy: Double
    public var validationAccuracy: Double
    public var validationMacroAUC: Double?
    public var settings: String
    /// The validation metric that chose `bestEpoch` (absent in files from before it was
    /// configurable, when it was always balanced accuracy).
    public var selectedBy: String?
    /// The terms of each dataset's images, which the model inherits (absent in files from
    /// before they were recorded).
    public var dataLicenses: [DataLicense]?

    public init(datasets: [String], splitProtocol: String, imagesPerSplit: [String: Int], classCounts: [String: Int],
                epochsTrained: Int, bestEpoch: Int, validationBalancedAccuracy: Double, validationAccuracy: Double,
                validationMacroAUC: Double?, settings: String) {
        self.datasets = datasets
        self.splitProtocol = splitProtocol
        self.imagesPerSplit = imagesPerSplit
        self.classCounts = classCounts
        self.epochsTrained = epochsTrained
        self.bestEpoch = bestEpoch
        self.validationBalancedAccuracy = validationBalancedAccuracy
        self.validationAccuracy = validationAccuracy
        self.validationMacroAUC = validationMacroAUC
        self.settings = settings
    }

    /// Words for the card: the metric that chose the epoch.
    public var selectionMetric: String { selectedBy ?? "balanced accuracy" }
}

public struct ModelFileError: Error, CustomStringConvertible {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}

/// Our model file: safetensors weights (torchvision names) plus `ModelMetadata`.
public enum ModelFile {
    static let metadataKey = "skinlesion"

    public static func save(_ model: Classifier, classNames: [String], metadataSpec: MetadataSpec? = nil, to url: URL) throws {
        var metadata = ModelMetadata(architecture: model.architecture.name, classNames: classNames, head: model.head,
                                     inputSize: model.architecture.inputSize, preprocessing: model.architecture.preprocessing)
        metadata.metadataSpec = metadataSpec
        metadata.fusion = model.fusion
        try save(model, metadata: metadata, to: url)
    }

    /// Saves with explicit metadata (calibration rewrites a model file with its temperature);
    /// metadata with a quantization record writes the int8 form.
    public static func save(_ model: Classifier, metadata: ModelMetadata, to url: URL) throws {
        if metadata.quantization != nil { return try saveQuantized(model, metadata: metadata, to: url) }
        guard metadata.classNames.count == model.classes else {
            throw ModelFileError(file: url.lastPathComponent,
                                 message: "\(metadata.classNames.count) class names given for a \(model.classes)-class model")
        }
        try checkFusion(metadata, file: url.lastPathComponent)
        var writer = SafeTensorsWriter()
        try model.save(into: &writer)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        writer.metadata[metadataKey] = String(decoding: try encoder.encode(metadata), as: UTF8.self)
        try writer.write(to: url)
    }

    /// The file's metadata, decoded and checked (format version, every field within `ModelLimits`,
    /// a fusion head against its spec) without building the network: what `card` shows, and what
    /// `load` checks before it allocates anything.
    public static func metadata(of file: SafeTensorsFile) throws -> ModelMetadata {
        let name = file.url.lastPathComponent
        guard let json = file.metadata[metadataKey] else {
            throw ModelFileError(file: name, message: "no '\(metadataKey)' metadata: not a SkinLesion model file "
                                 + "(import plain weights with --weights instead)")
        }
        let metadata: ModelMetadata
        do {
            metadata = try JSONDecoder().decode(ModelMetadata.self, from: Data(json.utf8))
        } catch {
            throw ModelFileError(file: name, message: "metadata '\(metadataKey)' is not valid: \(error)")
        }
        guard metadata.formatVersion <= ModelMetadata.formatVersion else {
            throw ModelFileError(file: name, message: "format version \(metadata.formatVersion) is newer than this "
                                 + "SkinLesion reads (\(ModelMetadata.formatVersion)); upgrade SkinLesion")
        }
        let problems = ModelLimits.problems(in: metadata)
        guard problems.isEmpty else { throw ModelFileError(file: name, message: "metadata out of bounds: " + problems.joined(separator: "; ")) }
        try checkFusion(metadata, file: name)
        return metadata
    }

    public static func load(from url: URL) throws -> (model: Classifier, metadata: ModelMetadata) {
        let file = try SafeTensorsFile(contentsOf: url)
        let metadata = try metadata(of: file)
        let model = try Architectures.named(metadata.architecture).build(classes: metadata.classNames.count, head: metadata.head,
                                                                         fusion: metadata.fusion)
        if let record = metadata.quantization {
            try loadQuantized(into: model, from: file, record: record)
        } else {
            try model.load(from: file)
        }
        return (model, metadata)
    }

    /// A fusion model needs the spec that encodes its input, and the two must agree on its width.
    static func checkFusion(_ metadata: ModelMetadata, file: String) throws {
        switch (metadata.fusion, metadata.metadataSpec) {
        case (nil, nil): return
        case (let fusion?, let spec?):
            do { try spec.validate() } catch let error as MetadataError {
                throw ModelFileError(file: file, message: "metadataSpec: \(error.message)")
            }
            guard spec.width == fusion.inputs else {
                throw ModelFileError(file: file, message: "metadataSpec encodes \(spec.width) values but the fusion head takes \(fusion.inputs)")
            }
        case (nil, _?): throw ModelFileError(file: file, message: "metadataSpec is given but the model has no fusion head")
        case (_?, nil): throw ModelFileError(file: file, message: "the model fuses metadata but the file has no metadataSpec saying how to encode it")
        }
    }
}
