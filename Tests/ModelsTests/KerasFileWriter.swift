import Foundation
import XCTest
@testable import Models
@testable import NeuralNet

/// Writes a Keras-format file of one of our models with `tools/keras_files.py` (h5py only):
/// the backbone as the architecture's Keras mapping says, the head as a Keras user would
/// have it (`predictions` for a linear head; `dense`, `batch_normalization`, …, `dense_n`
/// for an MLP head), each backbone array checked there against the real Keras layer list.
enum KerasFileWriter {
    static let script = PythonReference.root.appendingPathComponent("tools/keras_files.py")

    enum Layout: String, CaseIterable {
        case keras2Weights = "keras2-weights", keras2Model = "keras2-model"
        case keras3Weights = "keras3-weights", keras3Archive = "keras3-archive"
        var fileExtension: String { self == .keras3Archive ? "keras" : self == .keras3Weights ? "weights.h5" : "h5" }
    }

    /// The Keras layers of `model`, with the JSON `keras_files.py` reads.
    static func mapping(of model: Classifier) throws -> [[String: Any]] {
        let architecture = model.architecture, head = architecture.headName
        let backbone = try XCTUnwrap(architecture.kerasLayers).filter { !$0.weights.allSatisfy { $0.name.hasPrefix(head + ".") } }
        var entries = backbone.map { entry(for: $0) }
        switch model.head {
        case .linear:
            entries.append(entry(for: .dense("predictions", head), extra: ["class": "Dense", "head": true]))
        case .mlp(let hidden, _):
            for index in hidden.indices {
                let suffix = index == 0 ? "" : "_\(index)"
                entries.append(entry(for: .dense("dense" + suffix, "\(head).\(4 * index)"), extra: ["class": "Dense", "head": true]))
                entries.append(entry(for: .batchNorm("batch_normalization" + suffix, "\(head).\(4 * index + 1)"),
                                     extra: ["class": "BatchNormalization", "head": true, "headBatchNorm": true]))
            }
            entries.append(entry(for: .dense("dense_\(hidden.count)", "\(head).\(4 * hidden.count)"),
                                 extra: ["class": "Dense", "head": true]))
        }
        return entries
    }

    private static func entry(for layer: KerasLayer, extra: [String: Any] = [:]) -> [String: Any] {
        var entry: [String: Any] = ["name": layer.name, "weights": layer.weights.map { weight -> [String: String] in
            let layout: String
            switch weight.layout {
            case .vector: layout = "vector"
            case .convKernel: layout = "conv"
            case .depthwiseKernel: layout = "depthwise"
            case .denseKernel: layout = "dense"
            case .flattenedDenseKernel(let h, let w, let c): layout = "flattened:\(h),\(w),\(c)"
            }
            return ["ours": weight.name, "layout": layout]
        }]
        entry.merge(extra) { a, _ in a }
        return entry
    }

    /// Writes `model` as a Keras file in `directory`; `options` go to the tool (`--nest`,
    /// `--keras2-names`, `--counter-offset`, `--drop`, `--corrupt`).
    static func write(_ model: Classifier, layout: Layout, in directory: URL, options: [String] = []) throws -> URL {
        try PythonReference.requireVenv()
        let weights = directory.appendingPathComponent("ours.safetensors")
        try PythonReference.writeWeights(model, to: weights)
        let mappingURL = directory.appendingPathComponent("mapping.json")
        try JSONSerialization.data(withJSONObject: try mapping(of: model)).write(to: mappingURL)
        let output = directory.appendingPathComponent("model-\(layout.rawValue)-\(options.count).\(layout.fileExtension)")
        let fixture = PythonReference.root.appendingPathComponent("Tests/ModelsTests/Fixtures/keras/\(model.architecture.name).json")
        try PythonReference.run(["write", "--weights", weights.path, "--mapping", mappingURL.path, "--fixture", fixture.path,
                                 "--layout", layout.rawValue, "--output", output.path] + options, script: script)
        return output
    }
}
