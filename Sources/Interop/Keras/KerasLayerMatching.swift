import Foundation
import Models

/// Pairs the layers of a Keras file with an architecture's Keras mapping.
///
/// Explicitly named layers (`block1_conv1`, `conv2_block1_1_conv`) match by name, with Keras
/// 2's `/` read as `_` (Keras 2 DenseNet wrote `conv1/conv`, Keras 3 `conv1_conv`).
/// Automatically named layers (`conv2d_7`, `batch_normalization_7`: InceptionV3 and
/// Xception's shortcuts) carry a session counter, not an identity: Keras 3 starts at none,
/// Keras 2 files at `_1`, and a session that built other models first continues from there.
/// They are matched per family in counter order, which is creation order, the order the
/// mapping lists them in. Whatever is left over is the classifier head.
struct KerasLayerMatching {
    let pairs: [(keras: KerasWeightFile.Layer, ours: KerasLayer)]
    let unclaimed: [KerasWeightFile.Layer]

    /// Keras's automatic layer names: a class's snake-case name and an optional counter.
    static func autoName(_ name: String) -> (family: String, counter: Int)? {
        let families = ["conv2d", "batch_normalization", "dense", "separable_conv2d", "depthwise_conv2d"]
        for family in families.sorted(by: { $0.count > $1.count }) where name.hasPrefix(family) {
            let rest = name.dropFirst(family.count)
            if rest.isEmpty { return (family, 0) }
            if rest.first == "_", let counter = Int(rest.dropFirst()), counter >= 0 { return (family, counter) }
        }
        return nil
    }

    static func normalized(_ name: String) -> String { name.replacingOccurrences(of: "/", with: "_") }

    init(file: KerasWeightFile, mapping: [KerasLayer]) throws {
        var byName: [String: KerasWeightFile.Layer] = [:]
        var autoFamilies: [String: [(counter: Int, layer: KerasWeightFile.Layer)]] = [:]
        for layer in file.layers {
            let name = Self.normalized(layer.name)
            guard byName[name] == nil else {
                throw KerasImportError(file: file.file, "two Keras layers named '\(layer.name)'")
            }
            byName[name] = layer
            if let (family, counter) = Self.autoName(name) { autoFamilies[family, default: []].append((counter, layer)) }
        }
        for family in autoFamilies.keys { autoFamilies[family]!.sort { $0.counter < $1.counter } }

        var pairs: [(keras: KerasWeightFile.Layer, ours: KerasLayer)] = []
        var claimed = Set<String>()
        var used: [String: Int] = [:]
        for entry in mapping {
            let layer: KerasWeightFile.Layer?
            if let (family, _) = Self.autoName(entry.name) {
                let index = used[family, default: 0]
                let available = autoFamilies[family] ?? []
                layer = index < available.count ? available[index].layer : nil
                used[family] = index + 1
                if layer == nil {
                    let wanted = mapping.filter { Self.autoName($0.name)?.family == family }.count
                    throw KerasImportError(file: file.file, "the architecture has \(wanted) '\(family)' layers, "
                                           + "the file \(available.count): Keras layer '\(entry.name)' (our "
                                           + "\(entry.weights.map(\.name).joined(separator: ", "))) is missing")
                }
            } else {
                layer = byName[entry.name]
                if layer == nil {
                    throw KerasImportError(file: file.file, "no Keras layer '\(entry.name)' (it holds our "
                                           + "\(entry.weights.map(\.name).joined(separator: ", ")))")
                }
            }
            pairs.append((layer!, entry))
            claimed.insert(layer!.name)
        }
        self.pairs = pairs
        unclaimed = file.layers.filter { !claimed.contains($0.name) }
    }
}
