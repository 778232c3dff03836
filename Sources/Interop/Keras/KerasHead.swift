import Foundation
import Models

/// The classifier head found among the Keras layers the backbone did not claim: Dense layers,
/// each hidden one followed by BatchNormalization, the last giving the classes (Dropout,
/// pooling and activations hold no weights). Keras Applications' `predictions` is the
/// one-Dense case, SkinLesion's `.linear`; a user's GAP → Dense → BN → ReLU → Dropout → …
/// → Dense is `.mlp`, whose names are `<head>.0` Linear, `<head>.1` BatchNorm, …
///
/// A saved model's configuration, checked by `KerasHeadPlan`, names the head's layers in
/// order and gives each BatchNormalization's ε and the dropout rate. Weights-only files
/// record none of that, so the layers are paired by shape and creation order and the head's
/// order of operations is assumed to be SkinLesion's (Dense → BatchNorm → ReLU → Dropout,
/// Keras's default ε): a Keras head that applies its ReLU inside the Dense, before
/// BatchNormalization, would import and compute something else.
struct KerasHead {
    struct Dense {
        let layer: KerasWeightFile.Layer
        var inputs: Int { layer.arrays[0].shape[0] }
        var outputs: Int { layer.arrays[0].shape[1] }
    }

    let config: HeadConfig
    let classes: Int
    /// Keras layer → our parameter name prefix and layout, in head order, with the ε of a
    /// BatchNormalization, which the importer folds into the variance.
    let assignments: [(keras: KerasWeightFile.Layer, ours: KerasLayer, epsilon: Float?)]

    /// Keras BatchNormalization's default ε, assumed where no configuration says otherwise.
    static let kerasEpsilon: Float = 1e-3

    static func isDense(_ layer: KerasWeightFile.Layer) -> Bool {
        layer.arrays.count == 2 && layer.arrays[0].shape.count == 2 && layer.arrays[1].shape == [layer.arrays[0].shape[1]]
    }

    static func isBatchNorm(_ layer: KerasWeightFile.Layer) -> Bool {
        layer.arrays.count == 4 && layer.arrays.allSatisfy { $0.shape.count == 1 && $0.shape == layer.arrays[0].shape }
    }

    init(layers: [KerasWeightFile.Layer], featureChannels: Int, headName: String, plan: KerasHeadPlan?, file: String) throws {
        let (dense, norms) = try plan.map { try Self.named($0, in: layers, file: file) }
            ?? Self.paired(layers, featureChannels: featureChannels, file: file)
        var width = featureChannels, hidden: [Int] = []
        var assignments: [(KerasWeightFile.Layer, KerasLayer, Float?)] = []
        for (index, layer) in dense.enumerated() {
            guard layer.inputs == width else {
                throw KerasImportError(file: file, "head: Dense '\(layer.layer.name)' takes \(layer.inputs) features, "
                                       + "the layer before it gives \(width)")
            }
            width = layer.outputs
            let prefix = index * 4
            guard index < norms.count else {
                assignments.append((layer.layer, .dense(layer.layer.name, hidden.isEmpty ? headName : "\(headName).\(prefix)"), nil))
                break
            }
            let norm = norms[index]
            guard norm.layer.arrays[0].shape == [width] else {
                throw KerasImportError(file: file, "head: BatchNormalization '\(norm.layer.name)' normalizes "
                                       + "\(norm.layer.arrays[0].shape[0]) features, Dense '\(layer.layer.name)' gives \(width)")
            }
            assignments.append((layer.layer, .dense(layer.layer.name, "\(headName).\(prefix)"), nil))
            assignments.append((norm.layer, .batchNorm(norm.layer.name, "\(headName).\(prefix + 1)"), norm.epsilon))
            hidden.append(width)
        }
        let rate = plan?.dropout ?? HeadConfig.standardDropout
        config = hidden.isEmpty ? .linear : .mlp(hidden: hidden, dropout: rate)
        classes = width
        self.assignments = assignments.map { (keras: $0.0, ours: $0.1, epsilon: $0.2) }
    }

    /// The head layers the configuration names, in its order; every weight-holding layer the
    /// backbone left must be one of them, since anything else would be silently dropped.
    private static func named(_ plan: KerasHeadPlan, in layers: [KerasWeightFile.Layer],
                              file: String) throws -> ([Dense], [(layer: KerasWeightFile.Layer, epsilon: Float)]) {
        var left = layers
        func take(_ name: String, _ kind: String, _ fits: (KerasWeightFile.Layer) -> Bool) throws -> KerasWeightFile.Layer {
            // Keras 2 may prefix a nested model's weights with its scope (`sequential/dense`).
            guard let index = left.firstIndex(where: { $0.name == name || $0.name.hasSuffix("/" + name) }) else {
                throw KerasImportError(file: file, "head: the configuration's \(kind) '\(name)' has no weights in the file")
            }
            let layer = left.remove(at: index)
            guard fits(layer) else {
                throw KerasImportError(file: file, "head: \(kind) '\(name)' holds arrays \(layer.arrays.map(\.shape)), "
                                       + (kind == "Dense" ? "not a kernel and a bias" : "not γ, β, mean and variance"))
            }
            return layer
        }
        let dense = try plan.dense.map { Dense(layer: try take($0, "Dense", isDense)) }
        let norms = try plan.batchNorms.map { (layer: try take($0.name, "BatchNormalization", isBatchNorm), epsilon: $0.epsilon) }
        if let extra = left.first {
            throw KerasImportError(file: file, "Keras layer '\(extra.name)' holds weights but is neither part of the "
                                   + "backbone nor on the configuration's path from the backbone to the output")
        }
        return (dense, norms)
    }

    /// Without a configuration: Dense layers chained by width, each hidden one paired with
    /// the BatchNormalization of its width.
    private static func paired(_ layers: [KerasWeightFile.Layer], featureChannels: Int,
                               file: String) throws -> ([Dense], [(layer: KerasWeightFile.Layer, epsilon: Float)]) {
        for layer in layers where !isDense(layer) && !isBatchNorm(layer) {
            throw KerasImportError(file: file, "Keras layer '\(layer.name)' (arrays \(layer.arrays.map(\.shape))) is "
                                   + "neither part of the backbone nor a Dense or BatchNormalization of the head")
        }
        // Candidates in creation order: Keras 2 files list layers in model order; Keras 3
        // files do not, but their automatic names count up in creation order.
        func order(_ layer: KerasWeightFile.Layer) -> Int { KerasLayerMatching.autoName(layer.name)?.counter ?? -1 }
        var dense = layers.filter(isDense).enumerated().sorted { (order($0.1), $0.0) < (order($1.1), $1.0) }.map { Dense(layer: $0.1) }
        var norms = layers.filter(isBatchNorm).enumerated().sorted { (order($0.1), $0.0) < (order($1.1), $1.0) }.map(\.1)
        guard !dense.isEmpty else {
            throw KerasImportError(file: file, "no classifier: the file has no Dense layer after the backbone "
                                   + "(include_top=False without a head of your own?)")
        }
        var width = featureChannels, chain: [Dense] = [], paired: [(layer: KerasWeightFile.Layer, epsilon: Float)] = []
        while !dense.isEmpty {
            guard let next = dense.firstIndex(where: { $0.inputs == width }) else {
                throw KerasImportError(file: file, "head: no Dense takes the \(width) features before it; left: "
                                       + dense.map { "'\($0.layer.name)' \($0.inputs)→\($0.outputs)" }.joined(separator: ", "))
            }
            let layer = dense.remove(at: next)
            chain.append(layer)
            width = layer.outputs
            if dense.isEmpty { break }
            guard let norm = norms.firstIndex(where: { $0.arrays[0].shape == [width] }) else {
                throw KerasImportError(file: file, "head: Dense '\(layer.layer.name)' (\(layer.inputs)→\(width)) is not "
                                       + "followed by BatchNormalization; SkinLesion's head is Dense → BatchNorm → ReLU "
                                       + "→ Dropout per hidden layer")
            }
            paired.append((norms.remove(at: norm), kerasEpsilon))
        }
        if let extra = norms.first {
            throw KerasImportError(file: file, "head: BatchNormalization '\(extra.name)' does not follow a hidden Dense")
        }
        return (chain, paired)
    }
}
