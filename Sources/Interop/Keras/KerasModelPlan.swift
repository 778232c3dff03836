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

    /// The branch of a second, numeric input, which `MetadataFusion` computes: per hidden
    /// layer Dense (linear, with bias) → BatchNormalization → ReLU → Dropout, one rate.
    struct Metadata {
        let input: String
        let name: String
        /// The input's width, nil when its shape does not say.
        let width: Int?
        let layers: [KerasHeadPlan.Layer]
        let hidden: [Int]
        let dropout: Float

        init(_ graph: KerasGraph, input: String, branch: [KerasGraph.Node],
             fail: (KerasGraph.Node?, String) -> KerasImportError) throws {
            self.input = input
            name = graph.node(input).name
            let shape = graph.inputShapes[input] ?? []
            guard shape.count == 2 else {
                throw fail(graph.node(input), "takes shape \(shape.map { $0.map(String.init) ?? "None" }); a metadata input "
                           + "is a vector (batch, values)")
            }
            width = shape[1]
            layers = try branch.flatMap { try KerasHeadPlan.layers(of: $0, fail: fail) }
            // With no Dropout the rate is 0; MetadataFusion has one rate for every layer.
            var blocks = layers.map(\.headLayer)
            if !blocks.contains(where: { $0.dropoutRate != nil }) {
                blocks = blocks.enumerated().flatMap { index, layer in
                    layer == .activation(.relu) && blocks.indices.contains(index - 2) ? [layer, .dropout(rate: 0)] : [layer]
                }
            }
            guard case .mlp(let units, let rate) = HeadConfig.simplest(pooling: .average, layers: blocks) else {
                let computed = layers.isEmpty ? "nothing" : layers.map(\.headLayer.summary).joined(separator: " → ")
                throw fail(graph.node(input), "feeds a metadata branch that computes \(computed); SkinLesion's fusion branch "
                           + "is [Dense → BatchNormalization → ReLU → Dropout] per hidden layer, with one dropout rate")
            }
            (hidden, dropout) = (units, rate)
        }
    }

    let steps: [Step]
    /// The metadata branch of a two-input model.
    let metadata: Metadata?
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

        // Head: the single-input chain from the output back to the backbone's last layer,
        // through the Concatenate that joins a metadata branch, if there is one.
        let (chain, end) = Self.chain(graph, from: graph.output, to: feature)
        var headNodes = chain
        var metadata: Metadata?
        if end != feature {
            let join = graph.node(end)
            guard join.className == "Concatenate", join.inputs.count == 2, graph.inputs.count == 2 else {
                throw fail(join.className == "InputLayer" ? nil : join, join.className == "InputLayer"
                           ? "the path from the output back to the input does not pass through '\(featureName)', the "
                             + "Keras layer that ends the \(architecture.name) backbone"
                           : "takes \(join.inputs.count) inputs between the backbone and the output; SkinLesion's head is "
                             + "one chain of layers, or an image and a metadata branch joined by one Concatenate")
            }
            let sides = join.inputs.map { Self.chain(graph, from: $0, to: feature) }
            guard sides[0].end == feature, graph.node(sides[1].end).className == "InputLayer" else {
                throw fail(join, sides[1].end == feature
                           ? "puts the metadata before the image features; SkinLesion's fusion head joins [image features, metadata]"
                           : "joins inputs other than the pooled image features and a metadata branch from the second input")
            }
            let axis = join.config["axis"] as? Int ?? -1
            guard axis == -1 || axis == 1 else { throw fail(join, "concatenates along axis \(axis), not the features") }
            if let odd = sides[0].nodes.first(where: { !["GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten"].contains($0.className) }) {
                throw fail(odd, "stands between the backbone and the Concatenate; SkinLesion's fusion head joins the pooled "
                           + "image features as they are")
            }
            metadata = try Metadata(graph, input: sides[1].end, branch: sides[1].nodes.reversed(), fail: fail)
            headNodes += sides[0].nodes
        }
        head = try KerasHeadPlan(headNodes.reversed(), architecture: architecture, file: file)
        self.metadata = metadata

        // Backbone: everything the feature layer depends on, up to the preprocessing or the input.
        let known = Set(mapping.map { KerasLayerMatching.normalized($0.name) })
        let families = Set(mapping.compactMap { KerasLayerMatching.autoName($0.name)?.family })
        var region: Set<String> = [], entries: Set<String> = [], pending = [feature]
        while let id = pending.popLast() {
            guard region.insert(id).inserted else { continue }
            let node = graph.node(id)
            let outside = node.inputs.filter { Self.isFront(graph.node($0).className) }
            if !outside.isEmpty, outside.count == node.inputs.count, !Self.backboneClasses.contains(node.className) {
                throw fail(node, "stands between the input and the backbone; SkinLesion maps Rescaling, Normalization "
                           + "and random augmentation layers there: " + Self.refusalReason(node))
            }
            try Self.checkBackboneLayer(node, known: known, families: families, architecture: architecture, fail: fail)
            entries.formUnion(outside)
            pending += node.inputs.filter { !Self.isFront(graph.node($0).className) }
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
        guard graph.inputs.count == 1 + (metadata == nil ? 0 : 1), at != metadata?.input else {
            throw fail(nil, "the model has \(graph.inputs.count) inputs (\(graph.inputs.map { "'\(graph.node($0).name)'" }.joined(separator: ", "))); "
                       + "SkinLesion imports one image input, and a metadata input whose branch joins the pooled features")
        }
        self.steps = steps.reversed()
        inputSize = try Self.inputSize(graph, image: at, architecture: architecture, fail: fail)
    }

    /// The single-input chain from `start` back to `stop`, an input layer or a layer that
    /// reads more or fewer than one tensor (which is `end`); `nodes` from `start` backwards.
    private static func chain(_ graph: KerasGraph, from start: String, to stop: String) -> (nodes: [KerasGraph.Node], end: String) {
        var nodes: [KerasGraph.Node] = [], current = start
        while current != stop {
            let node = graph.node(current)
            guard node.inputs.count == 1 else { break }
            nodes.append(node)
            current = node.inputs[0]
        }
        return (nodes, current)
    }

    /// Whether a layer of this class is in front of the backbone: the input or preprocessing.
    static func isFront(_ className: String) -> Bool {
        className == "InputLayer" || scalingClasses.contains(className) || augmentationClasses.contains(className)
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
