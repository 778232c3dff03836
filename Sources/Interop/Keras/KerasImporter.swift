import Foundation
import Models
import NeuralNet

/// Converts a Keras model's weights into one of our classifiers: the architecture's Keras
/// mapping for the backbone, `KerasHead` for the classifier, layouts converted exactly; a
/// saved model's whole configuration is walked first (`KerasModelPlan`), so its
/// preprocessing layers and input size come along and anything that cannot be mapped is
/// refused by name.
public enum KerasImporter {
    public struct Result {
        public let model: Classifier
        public let format: KerasWeightFile.Format
        /// Keras layers read, backbone and head.
        public let layerCount: Int
        /// Whether the file's model configuration confirmed the head's operations; false for
        /// weights-only files, whose head is assumed to be SkinLesion's.
        public let headChecked: Bool
        /// The model's input side: its input shape's, else the architecture's.
        public let inputSize: Int
        /// The model's own Rescaling / Normalization layers as a per-channel preprocessing,
        /// else the architecture's.
        public let preprocessing: Preprocessing
        /// Whether `inputSize` came from the file (false: the model takes any size, or the
        /// file records none, and the architecture's is used).
        public let inputSizeFromFile: Bool
    }

    /// `metadataInputs`: the width of the vector the caller's `MetadataSpec` encodes, for a
    /// model with a second, metadata input (whose file does not record how it was encoded).
    public static func load(_ url: URL, architecture: Architecture, metadataInputs: Int? = nil) throws -> Result {
        try convert(KerasWeightFile(contentsOf: url), architecture: architecture, metadataInputs: metadataInputs)
    }

    /// The backbone's Keras layers: everything the mapping puts outside the head; the head is
    /// whatever Dense/BatchNormalization layers are left, Keras's `predictions` or the user's own.
    static func backboneMapping(_ architecture: Architecture, file: String) throws -> [KerasLayer] {
        guard let mapping = architecture.kerasLayers else {
            throw KerasImportError(file: file, "\(architecture.name) has no Keras counterpart to import from "
                                   + "(Keras architectures: \(Architectures.all.filter { $0.kerasLayers != nil }.map(\.name).joined(separator: ", ")))")
        }
        let headPrefix = architecture.headName + "."
        return mapping.filter { !$0.weights.allSatisfy { $0.name.hasPrefix(headPrefix) } }
    }

    /// The backbone's weights alone, for `train --weights`, which never takes a file's head:
    /// Keras Applications' `include_top=False` files have none, and a user's head need not be
    /// one SkinLesion computes. Counters (`num_batches_tracked`) are not in Keras files.
    public static func backbone(_ file: KerasWeightFile, architecture: Architecture) throws -> StateDict {
        let matching = try KerasLayerMatching(file: file, mapping: backboneMapping(architecture, file: file.file))
        let model = try architecture.build(classes: 2, head: .linear)
        let assigned = try assign(matching.pairs.map { ($0.keras, $0.ours, Float?.none) }, to: model, file: file)
        let state = StateDict(source: file.file, layer: model)
        return StateDict(source: file.file, entries: state.entries.filter { assigned.contains($0.key) })
    }

    public static func convert(_ file: KerasWeightFile, architecture: Architecture, metadataInputs: Int? = nil) throws -> Result {
        let backbone = try backboneMapping(architecture, file: file.file)
        // A saved model's configuration is checked first: a model that computes something
        // else is refused for what it computes, whatever its weights look like.
        let plan = try file.modelConfig.map {
            try KerasModelPlan(KerasGraph(json: $0, file: file.file), architecture: architecture, mapping: backbone, file: file.file)
        }
        let matching = try KerasLayerMatching(file: file, mapping: backbone)
        var unclaimed = matching.unclaimed
        var statistics: [String: (mean: [Double], variance: [Double])] = [:]
        for name in plan?.normalizationWeights ?? [] {
            guard let index = unclaimed.firstIndex(where: { $0.name == name || $0.name.hasSuffix("/" + name) }),
                  unclaimed[index].arrays.count >= 2 else {
                throw KerasImportError(file: file.file, "Keras layer '\(name)' (Normalization) has no mean and variance "
                                       + "in its configuration and no weights in the file")
            }
            let arrays = unclaimed.remove(at: index).arrays  // mean, variance, count (int64, read and unused)
            statistics[name] = (arrays[0].values.map(Double.init), arrays[1].values.map(Double.init))
        }
        let metadata = try plan?.metadata.map { branch -> (plan: KerasModelPlan.Metadata, inputs: Int) in
            guard let inputs = metadataInputs else {
                throw KerasImportError(file: file.file, "the model has a second input '\(branch.name)' "
                                       + "(\(branch.width.map { "\($0) values" } ?? "a vector")) whose branch joins the image "
                                       + "features: a metadata-fusion model. A Keras file does not record how its metadata "
                                       + "vector was encoded: give the spec that does (--metadata-spec FILE: a MetadataSpec, the "
                                       + "JSON `train --metadata` stores in its model files)")
            }
            guard branch.width == nil || branch.width == inputs else {
                throw KerasImportError(file: file.file, "the metadata spec encodes \(inputs) values, the model's input "
                                       + "'\(branch.name)' takes \(branch.width!)")
            }
            return (branch, inputs)
        }
        if metadataInputs != nil, metadata == nil {
            throw KerasImportError(file: file.file, plan == nil
                                   ? "a weights-only file cannot show a metadata branch; import the saved model (.keras, or a Keras 2 model.save .h5)"
                                   : "a metadata spec is given but the model has no metadata input")
        }
        let head = try KerasHead(layers: unclaimed, featureChannels: architecture.featureChannels,
                                 headName: architecture.headName, plan: plan?.head, metadata: metadata, file: file.file)
        let model = try architecture.build(classes: head.classes, head: head.config, fusion: head.fusion)
        let assigned = try assign(matching.pairs.map { ($0.keras, $0.ours, Float?.none) } + head.assignments, to: model, file: file)
        let missing = model.namedParameters.filter { $0.parameter.kind != .counter && !assigned.contains($0.name) }
        guard missing.isEmpty else {
            throw KerasImportError(file: file.file, "no Keras weights for \(missing.map(\.name).joined(separator: ", "))")
        }
        let preprocessing = try plan?.preprocessing(statistics: statistics, file: file.file)
        return Result(model: model, format: file.format, layerCount: matching.pairs.count + head.assignments.count + statistics.count,
                      headChecked: plan != nil, inputSize: plan?.inputSize ?? architecture.inputSize,
                      preprocessing: preprocessing ?? architecture.preprocessing, inputSizeFromFile: plan?.inputSize != nil)
    }

    /// Converts each Keras layer's arrays into the parameters it maps to, layouts exactly;
    /// returns the names assigned.
    private static func assign(_ pairs: [(keras: KerasWeightFile.Layer, ours: KerasLayer, epsilon: Float?)],
                               to model: Classifier, file: KerasWeightFile) throws -> Set<String> {
        let architecture = model.architecture
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.parameter) })
        var assigned = Set<String>()
        for (keras, ours, epsilon) in pairs {
            guard keras.arrays.count == ours.weights.count else {
                throw KerasImportError(file: file.file, "Keras layer '\(keras.name)' has \(keras.arrays.count) arrays "
                                       + "\(keras.arrays.map(\.shape)), \(architecture.name) expects \(ours.weights.count) "
                                       + "(\(ours.weights.map(\.name).joined(separator: ", ")))")
            }
            for (array, weight) in zip(keras.arrays, ours.weights) {
                guard let parameter = parameters[weight.name] else {
                    throw KerasImportError(file: file.file, "\(architecture.name) has no parameter \(weight.name) for "
                                           + "Keras layer '\(keras.name)'")
                }
                let expected = weight.layout.kerasShape(for: parameter.shape)
                guard array.shape == expected else {
                    throw KerasImportError(file: file.file, "Keras layer '\(keras.name)' array \(array.name) has shape "
                                           + "\(array.shape), \(architecture.name)'s \(weight.name) needs \(expected)")
                }
                var values = weight.layout.ourValues(fromKeras: array.values, shape: array.shape)
                // Our head's BatchNorm has PyTorch's ε, the Keras layer its own (1e-3 by
                // default): adding the difference to the moving variance gives var + ε as Keras has it.
                if let epsilon, weight.name.hasSuffix(".running_var") {
                    values = values.map { $0 + epsilon - HeadConfig.batchNormEpsilon }
                }
                try parameter.assign(values)
                assigned.insert(weight.name)
            }
        }
        return assigned
    }
}
