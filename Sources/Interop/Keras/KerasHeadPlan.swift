import Foundation
import Models
import NeuralNet

/// The head of a saved Keras model, read from its configuration: the layers between the
/// backbone and the output, each one mapped onto a `HeadLayer` or refused with the reason.
///
/// Mapped: `GlobalAveragePooling2D` or `GlobalMaxPooling2D` (channels last; `keepdims` only
/// when a `Flatten` follows), `Flatten` (the identity on vectors), `Dense` with a bias and a
/// built-in activation, `BatchNormalization` with center and scale (its ε folded into the
/// moving variance), `Activation`, `ReLU` (plain or capped at 6) and `Dropout` anywhere,
/// then the output `Dense`, linear or softmax, optionally followed by a softmax layer (our
/// logits become probabilities by softmax). A sigmoid output (multi-label) is refused: our
/// classes are exclusive.
struct KerasHeadPlan {
    enum Layer {
        case dense(name: String, units: Int)
        case batchNorm(name: String, epsilon: Float)
        case activation(Activation.Kind)
        case dropout(Float)

        var headLayer: HeadLayer {
            switch self {
            case .dense(_, let units): return .dense(units: units)
            case .batchNorm: return .batchNorm
            case .activation(let kind): return .activation(kind)
            case .dropout(let rate): return .dropout(rate: rate)
            }
        }
    }

    let pooling: GlobalPool.Kind
    /// The layers before the output Dense.
    let layers: [Layer]
    /// The output Dense's Keras name.
    let output: String

    var config: HeadConfig { .simplest(pooling: pooling, layers: layers.map(\.headLayer)) }

    /// Keras's activation names for the kinds we compute (`silu` is Keras 3's `swish`).
    static let activations: [String: Activation.Kind] = ["relu": .relu, "relu6": .relu6, "sigmoid": .sigmoid, "tanh": .tanh,
                                                         "elu": .elu, "gelu": .gelu, "swish": .swish, "silu": .swish]

    init(pooling: GlobalPool.Kind, layers: [Layer], output: String) {
        (self.pooling, self.layers, self.output) = (pooling, layers, output)
    }

    init(_ nodes: [KerasGraph.Node], architecture: Architecture, file: String) throws {
        func fail(_ node: KerasGraph.Node?, _ problem: String) -> KerasImportError {
            KerasImportError(file: file, (node.map { "Keras layer '\($0.name)' (\($0.className)) " } ?? "") + problem
                             + " (the head, after the \(architecture.name) backbone's '\(architecture.kerasFeatureLayer ?? "?")')")
        }
        var rest = nodes[...]
        var pooling = GlobalPool.Kind.average
        if architecture.poolsFeatures {
            guard let pool = rest.popFirst() else { throw fail(nil, "no layers after the backbone") }
            switch pool.className {
            case "GlobalAveragePooling2D": pooling = .average
            case "GlobalMaxPooling2D": pooling = .max
            default:
                throw fail(pool, "stands where global pooling belongs: SkinLesion pools the feature map with "
                           + "GlobalAveragePooling2D or GlobalMaxPooling2D")
            }
            guard (pool.config["data_format"] as? String ?? "channels_last") == "channels_last" else {
                throw fail(pool, "is not channels-last")
            }
            if pool.config["keepdims"] as? Bool ?? false {
                guard rest.first?.className == "Flatten" else {
                    throw fail(pool, "keeps dimensions without a Flatten after it; SkinLesion pools to vectors")
                }
            }
        }
        var layers: [Layer] = [], output: String?, outputNode: KerasGraph.Node?
        while let node = rest.popFirst() {
            if let outputNode {
                // After the output Dense only a softmax may follow, and nothing after it.
                guard Self.isSoftmax(node), rest.isEmpty, Self.activationName(outputNode.config["activation"]) == "linear" else {
                    throw fail(node, "follows the output Dense '\(outputNode.name)'; only a softmax may, once, after a "
                               + "linear output")
                }
                break
            }
            if node.className == "Dense", !rest.contains(where: { $0.className == "Dense" }) {
                // The last Dense gives the classes.
                let activation = Self.activationName(node.config["activation"])
                guard node.config["use_bias"] as? Bool ?? true else { throw fail(node, "has use_bias=False") }
                guard activation == "linear" || activation == "softmax" else {
                    throw fail(node, "is the output Dense with activation '\(activation)'; it must be linear or softmax "
                               + "(SkinLesion's classes are exclusive: a softmax over them)")
                }
                (output, outputNode) = (node.name, node)
                continue
            }
            switch node.className {
            case "GlobalAveragePooling2D", "GlobalMaxPooling2D": throw fail(node, "pools features that are already pooled")
            default: layers += try Self.layers(of: node, fail: fail)
            }
        }
        guard let output else { throw fail(nil, "no Dense layer gives the classes") }
        self.init(pooling: pooling, layers: layers, output: output)
    }

    /// What one layer between pooling and the output computes, as head layers (none for a
    /// Flatten or a linear Activation, two for a Dense with a built-in activation); refused
    /// when SkinLesion does not compute it.
    static func layers(of node: KerasGraph.Node, fail: (KerasGraph.Node?, String) -> KerasImportError) throws -> [Layer] {
        switch node.className {
        case "Flatten":
            return []
        case "Dropout":
            guard let rate = (node.config["rate"] as? NSNumber)?.floatValue, (0..<1).contains(rate) else {
                throw fail(node, "has rate \(node.config["rate"] ?? "none")")
            }
            return [.dropout(rate)]
        case "Dense":
            guard node.config["use_bias"] as? Bool ?? true else { throw fail(node, "has use_bias=False") }
            guard let units = (node.config["units"] as? NSNumber)?.intValue, units > 0 else { throw fail(node, "has no positive 'units'") }
            let activation = Self.activationName(node.config["activation"])
            return [.dense(name: node.name, units: units)] + (activation == "linear" ? [] : [.activation(try kind(activation, node, fail))])
        case "BatchNormalization":
            let (center, scale) = (node.config["center"] as? Bool ?? true, node.config["scale"] as? Bool ?? true)
            guard center, scale else {
                throw fail(node, "has center=\(center), scale=\(scale); SkinLesion's BatchNorm has both β and γ")
            }
            // The axis may be written as a number or a list; -1 and 1 both are a vector's features.
            let axis = node.config["axis"].flatMap { ($0 as? [Int])?.first ?? ($0 as? Int) } ?? -1
            let epsilon = (node.config["epsilon"] as? NSNumber)?.floatValue ?? KerasHead.kerasEpsilon
            guard axis == -1 || axis == 1, epsilon > 0 else { throw fail(node, "normalizes axis \(axis) with epsilon \(epsilon)") }
            return [.batchNorm(name: node.name, epsilon: epsilon)]
        case "Activation":
            let name = Self.activationName(node.config["activation"])
            if name == "linear" { return [] }
            guard name != "softmax" else { throw fail(node, "applies softmax before the output Dense") }
            return [.activation(try kind(name, node, fail))]
        case "ReLU":
            return [.activation(try reLU(node, fail))]
        case "Softmax":
            throw fail(node, "applies softmax before the output Dense")
        default:
            throw fail(node, "is not a layer SkinLesion's head maps: " + KerasModelPlan.refusalReason(node))
        }
    }

    private static func kind(_ name: String, _ node: KerasGraph.Node,
                             _ fail: (KerasGraph.Node?, String) -> KerasImportError) throws -> Activation.Kind {
        guard let kind = activations[name] else {
            throw fail(node, "uses activation '\(name)'; SkinLesion computes \(activations.keys.sorted().joined(separator: ", "))")
        }
        return kind
    }

    /// `ReLU()`: max(x, 0), or ReLU6 with `max_value` 6; a slope or threshold is refused.
    private static func reLU(_ node: KerasGraph.Node, _ fail: (KerasGraph.Node?, String) -> KerasImportError) throws -> Activation.Kind {
        let number = { (key: String) in (node.config[key] as? NSNumber)?.doubleValue ?? 0 }
        guard number("negative_slope") == 0, number("threshold") == 0 else {
            throw fail(node, "has negative_slope \(number("negative_slope")) and threshold \(number("threshold")); "
                       + "SkinLesion computes a plain ReLU or ReLU6")
        }
        switch node.config["max_value"] {
        case nil, is NSNull: return .relu
        case let cap as NSNumber where cap.doubleValue == 6: return .relu6
        case let cap: throw fail(node, "caps at \(cap ?? "?"); SkinLesion computes a plain ReLU or ReLU6")
        }
    }

    /// The activation's name: Keras writes built-in ones as a string; an object (a
    /// serialized function) is read by its `config` or class name, so it matches nothing
    /// unless it names one; none means linear.
    static func activationName(_ value: Any?) -> String {
        if let name = value as? String { return name }
        if let object = value as? [String: Any] {
            return object["config"] as? String ?? (object["class_name"] as? String ?? "unknown")
        }
        return "linear"
    }

    static func isSoftmax(_ node: KerasGraph.Node) -> Bool {
        switch node.className {
        case "Activation": return activationName(node.config["activation"]) == "softmax"
        case "Softmax": return (node.config["axis"] as? Int ?? -1) == -1
        default: return false
        }
    }
}
