import Foundation
import Models

/// What a saved model's configuration says the whole model computes, walked from the output
/// back to the inputs so that every layer is placed or refused, never skipped:
///
///     input → [Rescaling | Normalization | random augmentation]* → backbone (Keras
///     Applications' layers, to `Architecture.kerasFeatureLayer`) → head (`KerasHeadPlan`)
///
/// - The preprocessing layers become the model's preprocessing (a per-channel scale and
///   offset on raw RGB 0–255, `Preprocessing.perChannel`); random augmentation layers are
///   the identity at inference. Without Rescaling or Normalization the architecture's own
///   preprocessing (Keras's `preprocess_input`) is assumed, as for Keras Applications.
/// - The backbone's weights are matched by `KerasLayerMatching`; here every layer inside
///   it must be of a class Keras Applications' backbones are built from and every
///   weight-holding one must be one of the architecture's Keras layers, so a layer a user
///   inserted (a Lambda, a custom layer, another Conv2D) is refused by name.
/// - The input size comes from the image input's shape.
struct KerasModelPlan {
    /// One preprocessing layer, in input order.
    enum Step {
        /// x · scale + offset, each one value or one per channel.
        case rescaling(name: String, scale: [Double], offset: [Double])
        /// (x − mean) / max(√variance, 1e-7), or the inverse; mean and variance from the
        /// configuration when the layer was given them, else from its weights.
        case normalization(name: String, mean: [Double]?, variance: [Double]?, invert: Bool)
    }

    let steps: [Step]
    /// The image input's side, nil when the model takes any size.
    let inputSize: Int?
    let head: KerasHeadPlan

    /// Keras's `backend.epsilon()`, Normalization's floor on the standard deviation.
    static let normalizationEpsilon = 1e-7

    /// Classes a Keras Applications backbone is built from.
    static let backboneClasses: Set<String> = ["Conv2D", "DepthwiseConv2D", "SeparableConv2D", "BatchNormalization",
                                               "Activation", "ReLU", "ZeroPadding2D", "MaxPooling2D", "AveragePooling2D",
                                               "Add", "Concatenate", "Flatten", "Dense"]
    static let weightClasses: Set<String> = ["Conv2D", "DepthwiseConv2D", "SeparableConv2D", "BatchNormalization", "Dense"]
    /// Preprocessing layers that compute something at inference.
    static let scalingClasses: Set<String> = ["Rescaling", "Normalization"]
    /// Keras's random augmentation layers: the identity unless training.
    static let augmentationClasses: Set<String> = ["RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
                                                   "RandomContrast", "RandomBrightness"]

    init(_ graph: KerasGraph, architecture: Architecture, mapping: [KerasLayer], file: String) throws {
        func fail(_ node: KerasGraph.Node?, _ problem: String) -> KerasImportError {
            KerasImportError(file: file, (node.map { "Keras layer '\($0.name)' (\($0.className)) " } ?? "") + problem)
        }
        let featureName = architecture.kerasFeatureLayer ?? ""
        let features = graph.order.filter { graph.node($0).name == featureName }
        guard features.count == 1, let feature = features.first else {
            throw fail(nil, "the model has \(features.count) Keras layers named '\(featureName)', where the "
                       + "\(architecture.name) backbone ends; is it a Keras \(architecture.name)?")
        }

        // Head: the single-input chain from the output back to the backbone's last layer.
        var chain: [KerasGraph.Node] = [], current = graph.output
        while current != feature {
            let node = graph.node(current)
            guard node.className != "InputLayer" else {
                throw fail(nil, "the path from the output back to the input does not pass through '\(featureName)', the "
                           + "Keras layer that ends the \(architecture.name) backbone")
            }
            guard node.inputs.count == 1 else {
                throw fail(node, "takes \(node.inputs.count) inputs between the backbone and the output; "
                           + (graph.inputs.count > 1 ? "a model with \(graph.inputs.count) inputs is not supported"
                                                     : "SkinLesion's head is one chain of layers"))
            }
            chain.append(node)
            current = node.inputs[0]
        }
        head = try KerasHeadPlan(chain.reversed(), architecture: architecture, file: file)

        // Backbone: everything the feature layer depends on, up to the preprocessing or the input.
        let known = Set(mapping.map { KerasLayerMatching.normalized($0.name) })
        let families = Set(mapping.compactMap { KerasLayerMatching.autoName($0.name)?.family })
        var region: Set<String> = [], entries: Set<String> = [], pending = [feature]
        while let id = pending.popLast() {
            guard region.insert(id).inserted else { continue }
            let node = graph.node(id)
            try Self.checkBackboneLayer(node, known: known, families: families, architecture: architecture, fail: fail)
            for source in node.inputs {
                let sourceClass = graph.node(source).className
                if sourceClass == "InputLayer" || Self.scalingClasses.contains(sourceClass)
                    || Self.augmentationClasses.contains(sourceClass) {
                    entries.insert(source)
                } else {
                    pending.append(source)
                }
            }
        }
        guard entries.count == 1, let entry = entries.first else {
            throw fail(nil, "the \(architecture.name) backbone reads \(entries.count) tensors from outside it "
                       + "(\(entries.sorted().map { "'\(graph.node($0).name)'" }.joined(separator: ", "))); it reads one image")
        }

        // Preprocessing: the chain from the backbone's entry back to the image input.
        var steps: [Step] = [], at = entry
        while graph.node(at).className != "InputLayer" {
            let node = graph.node(at)
            guard node.inputs.count == 1 else { throw fail(node, "takes \(node.inputs.count) inputs before the backbone") }
            if let step = try Self.step(node, fail: fail) { steps.append(step) }
            at = node.inputs[0]
            guard !region.contains(at) else { throw fail(node, "loops back into the backbone") }
        }
        guard graph.inputs.count == 1 else {
            throw fail(nil, "the model has \(graph.inputs.count) inputs (\(graph.inputs.map { "'\(graph.node($0).name)'" }.joined(separator: ", "))); "
                       + "SkinLesion imports one image input")
        }
        self.steps = steps.reversed()
        inputSize = try Self.inputSize(graph, image: at, architecture: architecture, fail: fail)
    }

    private static func checkBackboneLayer(_ node: KerasGraph.Node, known: Set<String>, families: Set<String>,
                                           architecture: Architecture,
                                           fail: (KerasGraph.Node?, String) -> KerasImportError) throws {
        let inside = "sits inside the \(architecture.name) backbone"
        guard backboneClasses.contains(node.className) else {
            throw fail(node, "\(inside), where Keras Applications' \(architecture.name) has no such layer: "
                       + refusalReason(node))
        }
        if weightClasses.contains(node.className) {
            let name = KerasLayerMatching.normalized(node.name)
            guard known.contains(name) || KerasLayerMatching.autoName(name).map({ families.contains($0.family) }) == true else {
                throw fail(node, "\(inside) but is not one of its Keras layers (a layer added to the backbone is not supported)")
            }
        }
        if node.className == "Activation" {
            let activation = KerasHeadPlan.activationName(node.config["activation"])
            guard activation == "relu" || activation == "linear" else {
                throw fail(node, "\(inside) with activation '\(activation)'; the backbone's activations are ReLU")
            }
        }
    }

    /// Why a layer SkinLesion does not map is refused, for the error.
    static func refusalReason(_ node: KerasGraph.Node) -> String {
        switch node.className {
        case "Lambda": return "Lambda layers run Python code that the file does not hold, so SkinLesion cannot know what they compute"
        case "Resizing", "CenterCrop": return "SkinLesion resizes and crops images itself, to the model's input size"
        case "TFOpLambda", "SlicingOpLambda": return "a TensorFlow operation called on a tensor runs code the file does not hold"
        default:
            let custom = node.registeredName.map { $0.hasPrefix("keras") || $0 == node.className ? "" : " (registered as '\($0)')" } ?? ""
            return "\(node.className)\(custom) is not a layer SkinLesion maps here"
        }
    }

    private static func numbers(_ value: Any?) -> [Double]? {
        if let number = value as? NSNumber { return [number.doubleValue] }
        guard let list = value as? [Any] else { return nil }
        var flat: [Double] = []
        for item in list {
            guard let inner = numbers(item) else { return nil }
            flat += inner
        }
        return flat
    }

    /// The preprocessing step of `node`, nil for an augmentation layer (the identity at inference).
    private static func step(_ node: KerasGraph.Node, fail: (KerasGraph.Node?, String) -> KerasImportError) throws -> Step? {
        if augmentationClasses.contains(node.className) { return nil }
        switch node.className {
        case "Rescaling":
            guard let scale = numbers(node.config["scale"] ?? 1.0), let offset = numbers(node.config["offset"] ?? 0.0),
                  [1, 3].contains(scale.count), [1, 3].contains(offset.count) else {
                throw fail(node, "has scale \(node.config["scale"] ?? "none") and offset \(node.config["offset"] ?? "none"); "
                           + "SkinLesion takes one value or one per channel")
            }
            return .rescaling(name: node.name, scale: scale, offset: offset)
        case "Normalization":
            let axis = node.config["axis"].flatMap { numbers($0) } ?? [-1]
            guard node.config["axis"] is NSNull || axis == [-1] || axis == [3] else {
                throw fail(node, "normalizes axis \(axis); SkinLesion's preprocessing is per channel (axis -1)")
            }
            let mean = numbers(node.config["mean"]), variance = numbers(node.config["variance"])
            guard (mean == nil) == (variance == nil) else { throw fail(node, "gives a mean without a variance or the reverse") }
            return .normalization(name: node.name, mean: mean, variance: variance, invert: node.config["invert"] as? Bool ?? false)
        default:
            throw fail(node, "stands between the input and the backbone; SkinLesion maps Rescaling, Normalization and "
                       + "random augmentation layers there: " + refusalReason(node))
        }
    }

    private static func inputSize(_ graph: KerasGraph, image: String, architecture: Architecture,
                                  fail: (KerasGraph.Node?, String) -> KerasImportError) throws -> Int? {
        let node = graph.node(image)
        // A nested backbone may know its size when the outer input does not.
        let shapes = [graph.inputShapes[image]].compactMap { $0 } + graph.inputShapes.sorted { $0.key < $1.key }.map(\.value)
        guard let shape = shapes.first(where: { $0.count == 4 && $0[1] != nil && $0[2] != nil }) ?? shapes.first else {
            return nil
        }
        guard shape.count == 4, shape.last.flatMap({ $0 }) ?? 3 == 3 else {
            throw fail(node, "takes shape \(shape.map { $0.map(String.init) ?? "None" }); SkinLesion's models take RGB images "
                       + "(batch, height, width, 3)")
        }
        guard let height = shape[1], let width = shape[2] else { return nil }
        guard height == width else {
            throw fail(node, "takes \(height)×\(width) images; SkinLesion's models take square ones")
        }
        guard architecture.poolsFeatures || height == architecture.inputSize else {
            throw fail(node, "takes \(height)×\(height) images; \(architecture.name)'s fully connected top needs "
                       + "\(architecture.inputSize)×\(architecture.inputSize)")
        }
        return height
    }

    /// The names of the Normalization layers whose statistics are weights in the file.
    var normalizationWeights: [String] {
        steps.compactMap { if case .normalization(let name, nil, nil, _) = $0 { return name } else { return nil } }
    }

    /// The per-channel affine on raw RGB that the steps compute, given each weight-held
    /// Normalization's mean and variance by layer name; nil without Rescaling or
    /// Normalization (the architecture's preprocessing applies).
    func preprocessing(statistics: [String: (mean: [Double], variance: [Double])], file: String) throws -> Preprocessing? {
        guard !steps.isEmpty else { return nil }
        var scale = [Double](repeating: 1, count: 3), offset = [Double](repeating: 0, count: 3)
        func perChannel(_ values: [Double], _ name: String, _ what: String) throws -> [Double] {
            guard values.count == 1 || values.count == 3 else {
                throw KerasImportError(file: file, "Keras layer '\(name)' has \(values.count) \(what) values; SkinLesion "
                                       + "takes one or one per channel (3)")
            }
            return values.count == 1 ? [Double](repeating: values[0], count: 3) : values
        }
        for step in steps {
            switch step {
            case .rescaling(let name, let s, let o):
                let (s, o) = (try perChannel(s, name, "scale"), try perChannel(o, name, "offset"))
                for c in 0..<3 { (scale[c], offset[c]) = (scale[c] * s[c], offset[c] * s[c] + o[c]) }
            case .normalization(let name, let configMean, let configVariance, let invert):
                guard let (m, v) = configMean.map({ ($0, configVariance!) }) ?? statistics[name] else {
                    throw KerasImportError(file: file, "Keras layer '\(name)' (Normalization) has no mean and variance, "
                                           + "neither in its configuration nor as weights")
                }
                let (mean, variance) = (try perChannel(m, name, "mean"), try perChannel(v, name, "variance"))
                for c in 0..<3 {
                    guard variance[c] >= 0 else {
                        throw KerasImportError(file: file, "Keras layer '\(name)' (Normalization) has variance \(variance[c])")
                    }
                    let deviation = max(variance[c].squareRoot(), Self.normalizationEpsilon)
                    if invert {
                        (scale[c], offset[c]) = (scale[c] * deviation, offset[c] * deviation + mean[c])
                    } else {
                        (scale[c], offset[c]) = (scale[c] / deviation, (offset[c] - mean[c]) / deviation)
                    }
                }
            }
        }
        guard let result = Preprocessing.perChannel(scale: scale, offset: offset) else {
            throw KerasImportError(file: file, "the model's preprocessing layers compute x·\(scale) + \(offset) per channel, "
                                   + "which no image normalization is (a zero or non-finite scale)")
        }
        return result
    }
}
