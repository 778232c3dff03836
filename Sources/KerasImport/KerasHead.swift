import Foundation
import Models

/// The classifier head found among the Keras layers the backbone did not claim: Dense layers,
/// each hidden one followed by BatchNormalization, the last giving the classes (Dropout,
/// pooling and activations hold no weights). Keras Applications' `predictions` is the
/// one-Dense case, SkinLesion's `.linear`; a user's GAP → Dense → BN → ReLU → Dropout → …
/// → Dense is `.mlp`, whose names are `<head>.0` Linear, `<head>.1` BatchNorm, …
///
/// Weights-only files do not record activations, so the head's order of operations is
/// SkinLesion's (Dense → BatchNorm → ReLU → Dropout); a Keras head that applies its ReLU
/// inside the Dense, before BatchNormalization, computes something else.
struct KerasHead {
    struct Dense {
        let layer: KerasWeightFile.Layer
        var inputs: Int { layer.arrays[0].shape[0] }
        var outputs: Int { layer.arrays[0].shape[1] }
    }

    let config: HeadConfig
    let classes: Int
    /// Keras layer → our parameter name prefix and layout, in head order.
    let assignments: [(keras: KerasWeightFile.Layer, ours: KerasLayer)]

    /// Keras BatchNormalization's default ε, which a weights file does not record.
    static let kerasEpsilon: Float = 1e-3

    init(layers: [KerasWeightFile.Layer], featureChannels: Int, headName: String, file: String) throws {
        func isDense(_ layer: KerasWeightFile.Layer) -> Bool {
            layer.arrays.count == 2 && layer.arrays[0].shape.count == 2 && layer.arrays[1].shape == [layer.arrays[0].shape[1]]
        }
        func isBatchNorm(_ layer: KerasWeightFile.Layer) -> Bool {
            layer.arrays.count == 4 && layer.arrays.allSatisfy { $0.shape.count == 1 && $0.shape == layer.arrays[0].shape }
        }
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
        var width = featureChannels, hidden: [Int] = [], assignments: [(KerasWeightFile.Layer, KerasLayer)] = []
        while !dense.isEmpty {
            guard let next = dense.firstIndex(where: { $0.inputs == width }) else {
                throw KerasImportError(file: file, "head: no Dense takes the \(width) features before it; left: "
                                       + dense.map { "'\($0.layer.name)' \($0.inputs)→\($0.outputs)" }.joined(separator: ", "))
            }
            let layer = dense.remove(at: next)
            width = layer.outputs
            if dense.isEmpty {
                let prefix = hidden.isEmpty ? headName : "\(headName).\(4 * hidden.count)"
                assignments.append((layer.layer, .dense(layer.layer.name, prefix)))
                break
            }
            guard let norm = norms.firstIndex(where: { $0.arrays[0].shape == [width] }) else {
                throw KerasImportError(file: file, "head: Dense '\(layer.layer.name)' (\(layer.inputs)→\(width)) is not "
                                       + "followed by BatchNormalization; SkinLesion's head is Dense → BatchNorm → ReLU "
                                       + "→ Dropout per hidden layer")
            }
            let (index, batchNorm) = (4 * hidden.count, norms.remove(at: norm))
            assignments.append((layer.layer, .dense(layer.layer.name, "\(headName).\(index)")))
            assignments.append((batchNorm, .batchNorm(batchNorm.name, "\(headName).\(index + 1)")))
            hidden.append(width)
        }
        if let extra = norms.first {
            throw KerasImportError(file: file, "head: BatchNormalization '\(extra.name)' does not follow a hidden Dense")
        }
        // The dropout rate is not in the weights; it only matters for further training.
        config = hidden.isEmpty ? .linear : .mlp(hidden: hidden, dropout: HeadConfig.standardDropout)
        classes = width
        self.assignments = assignments.map { (keras: $0.0, ours: $0.1) }
    }
}
