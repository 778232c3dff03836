import Foundation
import Models

/// The classifier head's weights among the Keras layers the backbone did not claim, placed
/// by a `KerasHeadPlan`: our names are `<head>.<index>` for the plan's layer `index` and
/// `<head>.<count>` for the output Dense (the names `HeadConfig` builds), or `<head>` alone
/// for a head that is just the output Dense (`.linear`, Keras Applications' `predictions`).
///
/// A saved model's configuration gives the plan (`KerasHeadPlan`). Weights-only files
/// record none of it, so the plan is assumed: Dense layers chained by width, each hidden
/// one paired with the BatchNormalization of its width, in SkinLesion's order (Dense →
/// BatchNorm → ReLU → Dropout 0.5, Keras's default ε): a Keras head that applies its ReLU
/// inside the Dense, before BatchNormalization, would import and compute something else,
/// which is why `import` warns.
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

    /// The metadata branch, for a two-input model: `MetadataFusion` over `inputs` values.
    let fusion: MetadataFusion?

    init(layers: [KerasWeightFile.Layer], featureChannels: Int, headName: String, plan: KerasHeadPlan?,
         metadata: (plan: KerasModelPlan.Metadata, inputs: Int)? = nil, file: String) throws {
        let plan = try plan ?? Self.assumedPlan(layers, featureChannels: featureChannels, file: file)
        config = plan.config
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
        func dense(_ name: String, takes width: Int) throws -> Dense {
            let layer = Dense(layer: try take(name, "Dense", Self.isDense))
            guard layer.inputs == width else {
                throw KerasImportError(file: file, "head: Dense '\(name)' takes \(layer.inputs) features, the layer before it gives \(width)")
            }
            return layer
        }
        var assignments: [(keras: KerasWeightFile.Layer, ours: KerasLayer, epsilon: Float?)] = []
        /// Takes the Dense and BatchNorm weights of `planned`, named `<prefix>.<index>`, from `width` features on.
        func place(_ planned: [KerasHeadPlan.Layer], prefix: String, from width: Int) throws -> Int {
            var width = width
            for (index, layer) in planned.enumerated() {
                switch layer {
                case .dense(let name, _):
                    let found = try dense(name, takes: width)
                    width = found.outputs
                    assignments.append((found.layer, .dense(found.layer.name, "\(prefix).\(index)"), nil))
                case .batchNorm(let name, let epsilon):
                    let found = try take(name, "BatchNormalization", Self.isBatchNorm)
                    guard found.arrays[0].shape == [width] else {
                        throw KerasImportError(file: file, "head: BatchNormalization '\(name)' normalizes "
                                               + "\(found.arrays[0].shape[0]) features, the layer before it gives \(width)")
                    }
                    assignments.append((found, .batchNorm(found.name, "\(prefix).\(index)"), epsilon))
                case .activation, .dropout:
                    break
                }
            }
            return width
        }
        if let metadata {
            let branch = MetadataFusion(inputs: metadata.inputs, hidden: metadata.plan.hidden, dropout: metadata.plan.dropout)
            // MetadataFusion's names: four per block (`meta.0` Dense, `meta.1` BatchNorm, …),
            // a block without Dropout in Keras (rate 0) named as one with it.
            let dense = metadata.plan.layers.filter { if case .dense = $0 { return true } else { return false } }
            let norms = metadata.plan.layers.filter { if case .batchNorm = $0 { return true } else { return false } }
            let planned = zip(dense, norms).flatMap { [$0, $1, .activation(.relu), .dropout(branch.dropout)] }
            _ = try place(planned, prefix: MetadataFusion.branchName, from: metadata.inputs)
            fusion = branch
        } else {
            fusion = nil
        }
        let width = try place(plan.layers, prefix: headName, from: featureChannels + (fusion?.outputs ?? 0))
        let output = try dense(plan.output, takes: width)
        let outputName = config == .linear ? headName : "\(headName).\(plan.layers.count)"
        assignments.append((output.layer, .dense(output.layer.name, outputName), nil))
        if let extra = left.first {
            throw KerasImportError(file: file, "Keras layer '\(extra.name)' holds weights but is neither part of the "
                                   + "backbone nor on the configuration's path from the backbone to the output")
        }
        classes = output.outputs
        self.assignments = assignments
    }

    /// Without a configuration: Dense layers chained by width, each hidden one paired with
    /// the BatchNormalization of its width, in SkinLesion's order.
    private static func assumedPlan(_ layers: [KerasWeightFile.Layer], featureChannels: Int, file: String) throws -> KerasHeadPlan {
        for layer in layers where !isDense(layer) && !isBatchNorm(layer) {
            let names = layer.arrays.map(\.name)
            let normalization = names == ["mean", "variance", "count"] || (layer.arrays.count == 3 && layer.arrays[2].shape.isEmpty)
            throw KerasImportError(file: file, "Keras layer '\(layer.name)' (arrays \(layer.arrays.map(\.shape))) is neither "
                                   + "part of the backbone nor a Dense or BatchNormalization of the head"
                                   + (normalization ? "; it looks like a Normalization layer, and a weights-only file does not "
                                      + "say where it sits or what it computes: import the saved model (.keras, or a Keras 2 "
                                      + "model.save .h5), whose configuration does" : ""))
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
        var width = featureChannels, planned: [KerasHeadPlan.Layer] = []
        while true {
            guard let next = dense.firstIndex(where: { $0.inputs == width }) else {
                throw KerasImportError(file: file, "head: no Dense takes the \(width) features before it; left: "
                                       + dense.map { "'\($0.layer.name)' \($0.inputs)→\($0.outputs)" }.joined(separator: ", "))
            }
            let layer = dense.remove(at: next)
            width = layer.outputs
            if dense.isEmpty {
                if let extra = norms.first {
                    throw KerasImportError(file: file, "head: BatchNormalization '\(extra.name)' does not follow a hidden Dense")
                }
                return KerasHeadPlan(pooling: .average, layers: planned, output: layer.layer.name)
            }
            guard let norm = norms.firstIndex(where: { $0.arrays[0].shape == [width] }) else {
                throw KerasImportError(file: file, "head: Dense '\(layer.layer.name)' (\(layer.inputs)→\(width)) is not "
                                       + "followed by BatchNormalization; SkinLesion's head is Dense → BatchNorm → ReLU "
                                       + "→ Dropout per hidden layer")
            }
            planned += [.dense(name: layer.layer.name, units: width), .batchNorm(name: norms.remove(at: norm).name, epsilon: kerasEpsilon),
                        .activation(.relu), .dropout(HeadConfig.standardDropout)]
        }
    }
}
