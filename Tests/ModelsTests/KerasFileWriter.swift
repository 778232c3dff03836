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
        /// Whether Keras writes the model's configuration into this layout.
        var hasConfig: Bool { self == .keras2Model || self == .keras3Archive }
    }

    /// The Keras layers after the backbone as a user who built `model`'s head in Keras would
    /// have them, for the saved model's configuration: GlobalAveragePooling2D (where the
    /// architecture pools), per hidden layer Dense → BatchNormalization(ε `epsilon`) →
    /// Activation("relu") → Dropout(the head's rate), then Dense with softmax. Names are the
    /// ones `mapping(of:)` gives the weights. Tests change entries to make heads that differ.
    static func headConfig(of model: Classifier, epsilon: Double = 1e-3) -> [[String: Any]] {
        func layer(_ className: String, _ config: [String: Any]) -> [String: Any] { ["class_name": className, "config": config] }
        var layers: [[String: Any]] = []
        if model.architecture.poolsFeatures {
            layers.append(layer("GlobalAveragePooling2D", ["name": "avg_pool", "data_format": "channels_last", "keepdims": false]))
        }
        switch model.head {
        case .linear:
            layers.append(layer("Dense", ["name": "predictions", "units": model.classes, "activation": "softmax", "use_bias": true]))
        case .mlp(let hidden, let dropout):
            for (index, width) in hidden.enumerated() {
                let suffix = index == 0 ? "" : "_\(index)"
                layers.append(layer("Dense", ["name": "dense" + suffix, "units": width, "activation": "linear", "use_bias": true]))
                layers.append(layer("BatchNormalization", ["name": "batch_normalization" + suffix, "axis": -1, "momentum": 0.99,
                                                           "epsilon": epsilon, "center": true, "scale": true]))
                layers.append(layer("Activation", ["name": "activation" + suffix, "activation": "relu"]))
                layers.append(layer("Dropout", ["name": "dropout" + suffix, "rate": Double(dropout), "seed": NSNull(),
                                                "noise_shape": NSNull()]))
            }
            layers.append(layer("Dense", ["name": "dense_\(hidden.count)", "units": model.classes, "activation": "softmax",
                                          "use_bias": true]))
        }
        return layers
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
    /// `--keras2-names`, `--counter-offset`, `--drop`, `--corrupt`). Layouts with a model
    /// configuration get `head` (default `headConfig(of: model)`) in it.
    static func write(_ model: Classifier, layout: Layout, in directory: URL, options: [String] = [],
                      head: [[String: Any]]? = nil) throws -> URL {
        try PythonReference.requireVenv()
        let weights = directory.appendingPathComponent("ours.safetensors")
        try PythonReference.writeWeights(model, to: weights)
        let mappingURL = directory.appendingPathComponent("mapping.json")
        try JSONSerialization.data(withJSONObject: try mapping(of: model)).write(to: mappingURL)
        var options = options
        if layout.hasConfig {
            let headURL = directory.appendingPathComponent("head.json")
            try JSONSerialization.data(withJSONObject: head ?? headConfig(of: model)).write(to: headURL)
            options += ["--head-config", headURL.path, "--feature-layer", try XCTUnwrap(model.architecture.kerasFeatureLayer)]
        }
        let output = directory.appendingPathComponent("model-\(layout.rawValue)-\(options.count).\(layout.fileExtension)")
        let fixture = PythonReference.root.appendingPathComponent("Tests/ModelsTests/Fixtures/keras/\(model.architecture.name).json")
        try PythonReference.run(["write", "--weights", weights.path, "--mapping", mappingURL.path, "--fixture", fixture.path,
                                 "--layout", layout.rawValue, "--output", output.path] + options, script: script)
        return output
    }
}
