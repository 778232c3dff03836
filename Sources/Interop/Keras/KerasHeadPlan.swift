import Foundation
import Models

/// What a saved model's configuration says the head computes, accepted only when it is
/// exactly what SkinLesion's head computes, because anything else would import without
/// complaint and predict something else.
///
/// SkinLesion's head (`HeadConfig`) is global average pooling (where the architecture
/// pools), then per hidden layer Linear → BatchNorm → ReLU → Dropout, all with one dropout
/// rate, then the output Linear, whose logits become probabilities by softmax. In Keras:
/// `GlobalAveragePooling2D` (channels last, not keeping dimensions), then
/// `Dense` (linear activation, with bias) → `BatchNormalization` (center and scale, last
/// axis) → `Activation("relu")` or a plain `ReLU()` → `Dropout` (left out: rate 0), then
/// `Dense` with linear or softmax activation, or linear followed by `Activation("softmax")`
/// or `Softmax()`. The epsilon of each BatchNormalization and the dropout rate are taken
/// from the configuration.
struct KerasHeadPlan {
    /// Keras names of the Dense layers, in order; the last gives the classes.
    let dense: [String]
    /// Keras names and ε of the BatchNormalization after each hidden Dense.
    let batchNorms: [(name: String, epsilon: Float)]
    /// The hidden blocks' dropout rate; nil for a head without hidden layers.
    let dropout: Float?

    static func description(pools: Bool) -> String {
        (pools ? "GlobalAveragePooling2D → " : "") + "[Dense (linear activation, with bias) → BatchNormalization "
            + "(center and scale) → ReLU → Dropout] × hidden layers → Dense (linear or softmax)"
    }

    init(_ layers: [KerasModelConfig.Layer], architecture: Architecture, file: String) throws {
        let pools = architecture.poolsFeatures
        var rest = layers[...]
        func fail(_ layer: KerasModelConfig.Layer?, _ problem: String) -> KerasImportError {
            let subject = layer.map { "Keras layer '\($0.name)' (\($0.className)) " } ?? ""
            return KerasImportError(file: file, "\(subject)\(problem); SkinLesion's head on \(architecture.name) computes "
                                    + "the backbone (to Keras layer '\(architecture.kerasFeatureLayer ?? "?")') → \(Self.description(pools: pools))")
        }
        if pools {
            guard let pool = rest.popFirst(), pool.className == "GlobalAveragePooling2D" else {
                throw fail(layers.first, layers.isEmpty ? "no layers after the backbone" : "is not GlobalAveragePooling2D")
            }
            guard (pool.config["data_format"] as? String ?? "channels_last") == "channels_last",
                  !(pool.config["keepdims"] as? Bool ?? false) else {
                throw fail(pool, "keeps dimensions or is not channels-last; SkinLesion pools channels-last to vectors")
            }
        }
        var dense: [String] = [], batchNorms: [(String, Float)] = [], rates: [(layer: String, rate: Float)] = []
        while true {
            guard let layer = rest.popFirst() else { throw fail(nil, "no Dense layer gives the classes") }
            guard layer.className == "Dense" else { throw fail(layer, "stands where a Dense layer belongs") }
            guard layer.config["use_bias"] as? Bool ?? true else { throw fail(layer, "has use_bias=False") }
            dense.append(layer.name)
            let activation = Self.activation(layer.config["activation"])
            // The output Dense is the last layer, or the one a separate softmax follows.
            if rest.isEmpty || (rest.count == 1 && Self.isSoftmax(rest.first!)) {
                if let softmax = rest.first, activation != "linear" {
                    throw fail(softmax, "applies softmax after Dense '\(layer.name)' whose activation is already \(activation)")
                }
                guard activation == "linear" || activation == "softmax" else {
                    throw fail(layer, "has activation '\(activation)'; the output Dense must be linear or softmax")
                }
                break
            }
            guard activation == "linear" else {
                throw fail(layer, "applies '\(activation)' itself, before BatchNormalization")
            }
            let norm = rest.removeFirst()  // not empty: this Dense is not the last layer
            guard norm.className == "BatchNormalization" else {
                throw fail(norm, "follows hidden Dense '\(layer.name)' where BatchNormalization belongs")
            }
            let (center, scale) = (norm.config["center"] as? Bool ?? true, norm.config["scale"] as? Bool ?? true)
            guard center, scale else {
                throw fail(norm, "has center=\(center), scale=\(scale); SkinLesion's BatchNorm has both β and γ")
            }
            // The axis may be written as a number or a list; -1 and 1 both are a vector's features.
            let axis = norm.config["axis"].flatMap { ($0 as? [Int])?.first ?? ($0 as? Int) } ?? -1
            let epsilon = (norm.config["epsilon"] as? NSNumber)?.floatValue ?? KerasHead.kerasEpsilon
            guard axis == -1 || axis == 1, epsilon > 0 else {
                throw fail(norm, "normalizes axis \(axis) with epsilon \(epsilon)")
            }
            batchNorms.append((norm.name, epsilon))
            guard let relu = rest.popFirst() else { throw fail(norm, "ends the model where ReLU and the output Dense belong") }
            guard Self.isReLU(relu) else { throw fail(relu, "follows BatchNormalization '\(norm.name)' where a plain ReLU belongs") }
            if let dropout = rest.first, dropout.className == "Dropout" {
                rest.removeFirst()
                guard let rate = (dropout.config["rate"] as? NSNumber)?.floatValue, (0..<1).contains(rate) else {
                    throw fail(dropout, "has rate \(dropout.config["rate"] ?? "none")")
                }
                rates.append((dropout.name, rate))
            } else {
                rates.append((relu.name, 0))
            }
            if let odd = rates.first(where: { $0.rate != rates[0].rate }) {
                throw fail(layers.first { $0.name == odd.layer }, "has dropout rate \(odd.rate) after \(rates[0].rate) "
                           + "earlier (no Dropout counts as 0); SkinLesion's head has one rate for every hidden layer")
            }
        }
        self.dense = dense
        self.batchNorms = batchNorms.map { (name: $0.0, epsilon: $0.1) }
        dropout = rates.first?.rate
    }

    /// The activation's name: Keras writes built-in ones as a string; an object (a
    /// serialized function) is read by its `config` or class name, so it matches nothing
    /// unless it names one; none means linear.
    static func activation(_ value: Any?) -> String {
        if let name = value as? String { return name }
        if let object = value as? [String: Any] {
            return object["config"] as? String ?? (object["class_name"] as? String ?? "unknown")
        }
        return "linear"
    }

    static func isSoftmax(_ layer: KerasModelConfig.Layer) -> Bool {
        switch layer.className {
        case "Activation": return activation(layer.config["activation"]) == "softmax"
        case "Softmax": return (layer.config["axis"] as? Int ?? -1) == -1
        default: return false
        }
    }

    /// max(x, 0) exactly: `Activation("relu")`, or `ReLU()` without a cap, slope or threshold.
    static func isReLU(_ layer: KerasModelConfig.Layer) -> Bool {
        switch layer.className {
        case "Activation": return activation(layer.config["activation"]) == "relu"
        case "ReLU":
            let cap = layer.config["max_value"]
            let number = { (key: String) in (layer.config[key] as? NSNumber)?.doubleValue ?? 0 }
            return (cap == nil || cap is NSNull) && number("negative_slope") == 0 && number("threshold") == 0
        default: return false
        }
    }
}
