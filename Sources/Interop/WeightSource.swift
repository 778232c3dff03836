import Foundation
import Models

/// One weight file for an architecture, whatever wrote it (DESIGN decision 11): each format
/// is a reader from the file to a state dict under the architecture's names. `train
/// --weights` and `import --from` open files through `WeightFiles.open`, which picks the
/// reader by the file's content, so no caller branches on formats.
public protocol WeightSource {
    /// Whether a file that starts this way is this format's.
    static func recognizes(_ probe: ContentProbe) -> Bool
    init(contentsOf url: URL) throws

    /// The format as messages name it ("PyTorch zip checkpoint").
    var format: String { get }
    /// The weights under the architecture's parameter names, head included where the file has one.
    func stateDict(for architecture: Architecture) throws -> StateDict
    /// A whole classifier, backbone and the file's own head, for `skinlesion import`.
    /// `metadataInputs`: the width of the vector the user's metadata spec encodes, for a model
    /// with a second, metadata input; nil for an image-only model.
    func classifier(for architecture: Architecture, metadataInputs: Int?) throws -> ImportedModel
}

/// A classifier converted from a weight file, with what the user should be told about it.
public struct ImportedModel {
    public let model: Classifier
    public let format: String
    /// What was read, for the user ("320 tensors", "161 Keras layers with weights").
    public let contents: String
    /// What the file could not confirm (a Keras head's activations, a dropout rate).
    public let warnings: [String]
    /// The input side and preprocessing the model was trained with: the file's own where it
    /// records them (a Keras model's input shape and Rescaling/Normalization layers), else
    /// the architecture's.
    public let inputSize: Int
    public let preprocessing: Preprocessing

    public init(model: Classifier, format: String, contents: String, warnings: [String],
                inputSize: Int? = nil, preprocessing: Preprocessing? = nil) {
        self.model = model
        self.format = format
        self.contents = contents
        self.warnings = warnings
        self.inputSize = inputSize ?? model.architecture.inputSize
        self.preprocessing = preprocessing ?? model.architecture.preprocessing
    }
}

extension WeightSource {
    /// An image-only model.
    public func classifier(for architecture: Architecture) throws -> ImportedModel {
        try classifier(for: architecture, metadataInputs: nil)
    }

    /// For files whose names are already the architecture's: the head is read off the state
    /// dict's shapes (`HeadConfig.inferred`), then every tensor must fit. A state dict has no
    /// second input, so a metadata spec is refused.
    public func classifier(for architecture: Architecture, metadataInputs: Int?) throws -> ImportedModel {
        let state = try stateDict(for: architecture)
        if metadataInputs != nil {
            throw WeightFileError(file: state.source, "a metadata spec is for a Keras model with a second, metadata "
                                  + "input; a \(format) file holds no such model")
        }
        let (head, classes) = try HeadConfig.inferred(from: state, headName: architecture.headName)
        let model = try architecture.build(classes: classes, head: head)
        try model.load(from: state)
        let warnings = head == .linear ? [] : [
            "\(state.source): a state dict does not record the head's dropout rate; the model file gets "
            + "\(HeadConfig.standardDropout), which only matters if it is trained further",
        ]
        return ImportedModel(model: model, format: format, contents: "\(state.entries.count) tensors", warnings: warnings)
    }
}

/// What content detection looks at: the file's first bytes and size, and for a zip archive
/// its member paths (a torch checkpoint and a `.keras` file are both zips).
public struct ContentProbe {
    public let prefix: [UInt8]
    public let fileSize: UInt64
    public let zipPaths: [String]?
}

public enum WeightFiles {
    /// Every format `--weights` and `--from` take.
    public static let formats: [any WeightSource.Type] = [SafeTensorsSource.self, PyTorchSource.self, KerasSource.self]

    /// Opens `url` with the reader its content calls for.
    public static func open(_ url: URL) throws -> any WeightSource {
        let file = url.lastPathComponent
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let handle = try? FileHandle(forReadingFrom: url) else {
            throw WeightFileError(file: file, "no readable file at \(url.path)")
        }
        let prefix = [UInt8]((try? handle.read(upToCount: 64)) ?? Data())
        try? handle.close()
        let zipPaths = prefix.starts(with: ZipArchive.signature) ? try ZipArchive(url: url).paths : nil
        let probe = ContentProbe(prefix: prefix, fileSize: (attributes[.size] as? UInt64) ?? 0, zipPaths: zipPaths)
        guard let format = formats.first(where: { $0.recognizes(probe) }) else {
            let start = prefix.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw WeightFileError(file: file, "not a weight file SkinLesion reads (it starts with \(start)"
                                  + (zipPaths.map { "; a zip of \($0.prefix(5).joined(separator: ", "))" } ?? "")
                                  + "): expected safetensors, a PyTorch checkpoint (.pth/.pt, zip or legacy) or a "
                                  + "Keras file (.h5, .weights.h5, .keras)")
        }
        return try format.init(contentsOf: url)
    }
}
