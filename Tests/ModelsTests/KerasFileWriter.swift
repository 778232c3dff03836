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
    /// have them, for the saved model's configuration: GlobalAveragePooling2D (or
    /// GlobalMaxPooling2D; where the architecture pools), then the head's layers in order
    /// (Dense linear with bias, BatchNormalization(ε `epsilon`), Activation, Dropout), then
    /// Dense with softmax. Names are Keras's automatic ones, the ones `mapping(of:)` gives the
    /// weights. Tests change entries to make heads that differ.
    static func headConfig(of model: Classifier, epsilon: Double = 1e-3) -> [[String: Any]] {
        func layer(_ className: String, _ config: [String: Any]) -> [String: Any] { ["class_name": className, "config": config] }
        var layers: [[String: Any]] = []
        if model.architecture.poolsFeatures {
            let max = model.head.pooling == .max
            layers.append(layer(max ? "GlobalMaxPooling2D" : "GlobalAveragePooling2D",
                                ["name": max ? "max_pool" : "avg_pool", "data_format": "channels_last", "keepdims": false]))
        }
        if case .linear = model.head {
            return layers + [layer("Dense", ["name": "predictions", "units": model.classes, "activation": "softmax", "use_bias": true])]
        }
        for (name, headLayer) in kerasNames(of: model.head) {
            switch headLayer {
            case .dense(let units): layers.append(layer("Dense", ["name": name, "units": units, "activation": "linear", "use_bias": true]))
            case .batchNorm:
                layers.append(layer("BatchNormalization", ["name": name, "axis": -1, "momentum": 0.99, "epsilon": epsilon,
                                                           "center": true, "scale": true]))
            case .activation(let kind): layers.append(layer("Activation", ["name": name, "activation": kind.rawValue]))
            case .dropout(let rate):
                layers.append(layer("Dropout", ["name": name, "rate": Double(rate), "seed": NSNull(), "noise_shape": NSNull()]))
            }
        }
        let output = "dense" + suffix(model.head.layers.filter { $0.denseUnits != nil }.count)
        return layers + [layer("Dense", ["name": output, "units": model.classes, "activation": "softmax", "use_bias": true])]
    }

    /// Keras's automatic name of each head layer: the class's snake-case name, counted per class.
    private static func kerasNames(of head: HeadConfig) -> [(String, HeadLayer)] {
        var counters: [String: Int] = [:]
        return head.layers.map { layer in
            let family: String
            switch layer {
            case .dense: family = "dense"
            case .batchNorm: family = "batch_normalization"
            case .activation: family = "activation"
            case .dropout: family = "dropout"
            }
            let count = counters[family, default: 0]
            counters[family] = count + 1
            return (family + suffix(count), layer)
        }
    }

    private static func suffix(_ count: Int) -> String { count == 0 ? "" : "_\(count)" }

    /// The Keras layers of `model`, with the JSON `keras_files.py` reads.
    static func mapping(of model: Classifier) throws -> [[String: Any]] {
        let architecture = model.architecture, head = architecture.headName
        let backbone = try XCTUnwrap(architecture.kerasLayers).filter { !$0.weights.allSatisfy { $0.name.hasPrefix(head + ".") } }
        var entries = backbone.map { entry(for: $0) }
        if case .linear = model.head {
            return entries + [entry(for: .dense("predictions", head), extra: ["class": "Dense", "head": true])]
        }
        for (index, (name, layer)) in kerasNames(of: model.head).enumerated() {
            switch layer {
            case .dense: entries.append(entry(for: .dense(name, "\(head).\(index)"), extra: ["class": "Dense", "head": true]))
            case .batchNorm:
                entries.append(entry(for: .batchNorm(name, "\(head).\(index)"),
                                     extra: ["class": "BatchNormalization", "head": true, "headBatchNorm": true]))
            case .activation, .dropout: break
            }
        }
        let layers = model.head.layers
        let output = "dense" + suffix(layers.filter { $0.denseUnits != nil }.count)
        return entries + [entry(for: .dense(output, "\(head).\(layers.count)"), extra: ["class": "Dense", "head": true])]
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
    /// configuration get `head` (default `headConfig(of: model)`) in it, and `front`, layers
    /// between the input and the backbone.
    static func write(_ model: Classifier, layout: Layout, in directory: URL, options: [String] = [],
                      head: [[String: Any]]? = nil, front: [[String: Any]] = []) throws -> URL {
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
            if !front.isEmpty {
                let frontURL = directory.appendingPathComponent("front.json")
                try JSONSerialization.data(withJSONObject: front).write(to: frontURL)
                options += ["--front-config", frontURL.path]
            }
        }
        let output = directory.appendingPathComponent("model-\(layout.rawValue)-\(options.count).\(layout.fileExtension)")
        let fixture = PythonReference.root.appendingPathComponent("Tests/ModelsTests/Fixtures/keras/\(model.architecture.name).json")
        try PythonReference.run(["write", "--weights", weights.path, "--mapping", mappingURL.path, "--fixture", fixture.path,
                                 "--layout", layout.rawValue, "--output", output.path] + options, script: script)
        return output
    }
}
