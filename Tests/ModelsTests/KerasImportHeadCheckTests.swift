import Dermoscopy
import Foundation
@testable import Inference
@testable import Interop
@testable import Models
@testable import NeuralNet
import TestSupport
import XCTest

/// Saved models' configurations against SkinLesion's heads: what a Keras head computes beyond
/// its weights (pooling, activations, the order of layers, bias and BatchNorm options, ε,
/// dropout) is either mapped onto a `HeadConfig` and imported with its ε and rates, or
/// refused naming the Keras layer and why.
extension KerasImportTests {
    private static let configLayouts: [KerasFileWriter.Layout] = [.keras2Model, .keras3Archive]

    private func headModel(dropout: Float = 0.3) throws -> Classifier {
        let model = try Architectures.named("densenet121").build(classes: 3, head: .mlp(hidden: [8], dropout: dropout), seed: 61)
        try randomizeBatchNorms(model, seed: 62)
        return model
    }

    private func changed(_ head: [[String: Any]], _ index: Int, _ key: String, _ value: Any) -> [[String: Any]] {
        var head = head
        var config = head[index]["config"] as! [String: Any]
        config[key] = value
        head[index]["config"] = config
        return head
    }

    private func inserted(_ head: [[String: Any]], _ className: String, _ config: [String: Any], at index: Int) -> [[String: Any]] {
        var head = head
        head.insert(["class_name": className, "config": config], at: index)
        return head
    }

    /// Each head below computes something SkinLesion's heads cannot; both Keras 2's and Keras
    /// 3's configuration layouts must refuse it, naming the layer and the problem.
    func testSavedHeadsThatComputeSomethingElseAreRefused() throws {
        let model = try headModel()
        let standard = KerasFileWriter.headConfig(of: model)
        // standard: avg_pool, dense, batch_normalization, activation, dropout, dense_1.
        XCTAssertEqual(standard.map { $0["class_name"] as? String }, ["GlobalAveragePooling2D", "Dense", "BatchNormalization",
                                                                       "Activation", "Dropout", "Dense"])
        let cases: [(label: String, head: [[String: Any]], expected: [String])] = [
            ("sigmoid output", changed(standard, 5, "activation", "sigmoid"),
             ["Keras layer 'dense_1' (Dense) is the output Dense with activation 'sigmoid'; it must be linear or softmax"]),
            ("second pooling", inserted(standard, "GlobalAveragePooling2D", ["name": "global_average_pooling2d"], at: 1),
             ["Keras layer 'global_average_pooling2d' (GlobalAveragePooling2D) pools features that are already pooled"]),
            ("Flatten instead of pooling", inserted(Array(standard.dropFirst()), "Flatten", ["name": "flatten"], at: 0),
             ["Keras layer 'flatten' (Flatten) stands where global pooling belongs"]),
            ("Dense without bias", changed(standard, 1, "use_bias", false), ["Keras layer 'dense' (Dense) has use_bias=False"]),
            ("BatchNorm without center", changed(standard, 2, "center", false),
             ["Keras layer 'batch_normalization' (BatchNormalization) has center=false, scale=true"]),
            ("BatchNorm without scale", changed(standard, 2, "scale", false), ["center=true, scale=false"]),
            ("ReLU capped at 5", { var head = standard; head[3] = ["class_name": "ReLU", "config": ["name": "re_lu", "max_value": 5.0]]
                                   return head }(), ["Keras layer 're_lu' (ReLU) caps at 5"]),
            ("leaky ReLU", changed(standard, 3, "activation", "leaky_relu"),
             ["Keras layer 'activation' (Activation) uses activation 'leaky_relu'"]),
            ("Lambda", inserted(standard, "Lambda", ["name": "lambda", "function": "x * 2"], at: 2),
             ["Keras layer 'lambda' (Lambda) is not a layer SkinLesion's head maps: Lambda layers run Python code"]),
            ("custom layer", inserted(standard, "FocalScaling", ["name": "focal_scaling"], at: 4),
             ["Keras layer 'focal_scaling' (FocalScaling) is not a layer SkinLesion's head maps: FocalScaling is not a layer"]),
            ("Dropout after the output", inserted(standard, "Dropout", ["name": "dropout_9", "rate": 0.1], at: 6),
             ["Keras layer 'dropout_9' (Dropout) follows the output Dense 'dense_1'"]),
            ("softmax twice", standard + [["class_name": "Softmax", "config": ["name": "softmax", "axis": -1]]],
             ["Keras layer 'softmax' (Softmax) follows the output Dense 'dense_1'; only a softmax may, once, after a linear output"]),
        ]
        for (label, head, expected) in cases {
            for layout in Self.configLayouts {
                let url = try KerasFileWriter.write(model, layout: layout, in: directory, head: head)
                XCTAssertThrowsError(try KerasImporter.load(url, architecture: model.architecture), "\(label), \(layout)") { error in
                    let message = "\(error)"
                    XCTAssertTrue(message.hasPrefix(url.lastPathComponent + ": "), "\(label), \(layout): \(message)")
                    for part in expected + ["(the head, after the densenet121 backbone's 'relu')"] {
                        XCTAssertTrue(message.contains(part), "\(label), \(layout): \(message)")
                    }
                }
            }
        }
    }

    /// Layers between the input and the backbone that are not preprocessing SkinLesion
    /// computes are refused by name with the reason; Rescaling there is taken (with the
    /// configuration's scale and offset), and the random augmentation layers are the identity.
    func testLayersInFrontOfTheBackboneArePlacedOrRefused() throws {
        let model = try headModel()
        let cases: [(String, [String: Any], String)] = [
            ("Lambda", ["name": "lambda", "function": "preprocess_input"], "Keras layer 'lambda' (Lambda) stands between the "
                + "input and the backbone; SkinLesion maps Rescaling, Normalization and random augmentation layers there: "
                + "Lambda layers run Python code that the file does not hold"),
            ("Resizing", ["name": "resizing", "height": 224, "width": 224], "Keras layer 'resizing' (Resizing) stands between "
                + "the input and the backbone"),
            ("CustomScaler", ["name": "custom_scaler"], "CustomScaler is not a layer SkinLesion maps here"),
        ]
        for (className, config, expected) in cases {
            let url = try KerasFileWriter.write(model, layout: .keras3Archive, in: directory,
                                                front: [["class_name": className, "config": config]])
            XCTAssertThrowsError(try KerasImporter.load(url, architecture: model.architecture), className) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(className): \(error)")
            }
        }
        let url = try KerasFileWriter.write(model, layout: .keras2Model, in: directory, front: [
            ["class_name": "RandomFlip", "config": ["name": "random_flip", "mode": "horizontal"]],
            ["class_name": "Rescaling", "config": ["name": "rescaling", "scale": 1.0 / 127.5, "offset": -1.0]],
        ])
        let result = try KerasImporter.load(url, architecture: model.architecture)
        XCTAssertEqual(result.preprocessing.mode, "perChannel")
        let normalization = try result.preprocessing.normalization(source: "test")
        var plane = [Float](repeating: 0, count: 3)
        plane.withUnsafeMutableBufferPointer { normalization.write(RGBImage(width: 1, height: 1, pixels: [0, 255, 51]), to: $0.baseAddress!) }
        XCTAssertEqual(plane[0], -1, accuracy: 1e-6)
        XCTAssertEqual(plane[1], 1, accuracy: 1e-6)
        XCTAssertEqual(plane[2], 51 / 127.5 - 1, accuracy: 1e-6)
        XCTAssertFalse(result.inputSizeFromFile, "the h5py-written input takes any size")
    }

    /// Heads that differ from the standard one only in what `HeadConfig.sequence` expresses
    /// map onto it: an activation inside the Dense, Dropout anywhere, ReLU6, global max
    /// pooling; a Flatten after pooling is the identity and keeps the `.mlp` head.
    func testSavedHeadsThatDifferInOrderMapOntoSequences() throws {
        let model = try headModel()
        let standard = KerasFileWriter.headConfig(of: model)
        var swapped = standard
        swapped.swapAt(3, 4)
        var relu6 = standard
        relu6[3] = ["class_name": "ReLU", "config": ["name": "re_lu", "max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0]]
        var maxPooled = standard
        maxPooled[0] = ["class_name": "GlobalMaxPooling2D", "config": ["name": "max_pool", "data_format": "channels_last"]]
        let mlp = HeadConfig.mlp(hidden: [8], dropout: 0.3).layers
        let cases: [(String, [[String: Any]], HeadConfig)] = [
            ("ReLU inside the Dense", changed(standard, 1, "activation", "relu"),
             .sequence(pooling: .average, layers: [.dense(units: 8), .activation(.relu), .batchNorm, .activation(.relu),
                                                   .dropout(rate: 0.3)])),
            ("Dropout before ReLU", swapped,
             .sequence(pooling: .average, layers: [.dense(units: 8), .batchNorm, .dropout(rate: 0.3), .activation(.relu)])),
            ("ReLU6", relu6, .sequence(pooling: .average, layers: [.dense(units: 8), .batchNorm, .activation(.relu6), .dropout(rate: 0.3)])),
            ("global max pooling", maxPooled, .sequence(pooling: .max, layers: mlp)),
            ("Flatten after pooling", inserted(standard, "Flatten", ["name": "flatten"], at: 1), .mlp(hidden: [8], dropout: 0.3)),
        ]
        for (label, head, expected) in cases {
            for layout in Self.configLayouts {
                let url = try KerasFileWriter.write(model, layout: layout, in: directory, head: head)
                let result = try KerasImporter.load(url, architecture: model.architecture)
                XCTAssertEqual(result.model.head, expected, "\(label), \(layout)")
            }
        }
    }

    /// A head of differing widths with several activations, dropout first and max pooling,
    /// written as Keras would save it, imports to the same `HeadConfig`, the same tensors
    /// and the same logits, in both saved-model layouts.
    func testSequenceHeadRoundTrips() throws {
        let head = HeadConfig.sequence(pooling: .max, layers: [.dropout(rate: 0.2), .dense(units: 16), .activation(.gelu),
                                                               .batchNorm, .dense(units: 6), .activation(.swish),
                                                               .dropout(rate: 0.1), .dense(units: 5), .activation(.tanh)])
        let model = try Architectures.named("densenet121").build(classes: 4, head: head, seed: 71)
        try randomizeBatchNorms(model, seed: 72)
        let x = try Tensor(shape: [2, 3, 64, 64], values: randomValues(2 * 3 * 64 * 64, seed: 73))
        let expected = try model.forward(x, mode: .inference).toArray()
        for layout in Self.configLayouts {
            let url = try KerasFileWriter.write(model, layout: layout, in: directory)
            let result = try KerasImporter.load(url, architecture: model.architecture)
            XCTAssertEqual(result.model.head, head, layout.rawValue)
            assertSameTensors(result.model, model, layout.rawValue)
            XCTAssertLessThanOrEqual(relativeError(try result.model.forward(x, mode: .inference).toArray(), expected), 1e-6,
                                     layout.rawValue)
        }
    }

    /// A head that is ours with a non-default BatchNormalization ε and dropout rate imports
    /// with that ε folded into the variance (logits equal to the original's) and that rate.
    /// Keras 2 writes a plain functional model with softmax in the output Dense; Keras 3 a
    /// Sequential around the nested backbone with `ReLU()` and a separate `Softmax()`.
    func testSavedHeadWithOwnEpsilonAndDropoutImportsThem() throws {
        let model = try headModel(dropout: 0.2)
        let x = try Tensor(shape: [2, 3, 64, 64], values: randomValues(2 * 3 * 64 * 64, seed: 63))
        let expected = try model.forward(x, mode: .inference).toArray()
        var variant = KerasFileWriter.headConfig(of: model, epsilon: 1e-4)
        variant[3] = ["class_name": "ReLU", "config": ["name": "re_lu", "max_value": NSNull(), "negative_slope": 0.0, "threshold": 0.0]]
        variant = changed(variant, 5, "activation", "linear")
        variant.append(["class_name": "Softmax", "config": ["name": "softmax", "axis": -1]])
        for (layout, head, options) in [(KerasFileWriter.Layout.keras2Model, KerasFileWriter.headConfig(of: model, epsilon: 1e-4), []),
                                        (.keras3Archive, variant, ["--nest", "densenet121"])] {
            let url = try KerasFileWriter.write(model, layout: layout, in: directory, options: options, head: head)
            let result = try KerasImporter.load(url, architecture: model.architecture)
            XCTAssertTrue(result.headChecked, layout.rawValue)
            XCTAssertEqual(result.model.head, .mlp(hidden: [8], dropout: 0.2), layout.rawValue)
            let ours = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.parameter.values) })
            let variance = try XCTUnwrap(result.model.namedParameters.first { $0.name == "classifier.1.running_var" })
            // The file holds var − (1e-4 − 1e-5); Keras's default ε would leave it 9e-4 short.
            XCTAssertLessThanOrEqual(relativeError(variance.parameter.values, ours["classifier.1.running_var"]!), 1e-6, layout.rawValue)
            let logits = try result.model.forward(x, mode: .inference).toArray()
            XCTAssertLessThanOrEqual(relativeError(logits, expected), 1e-6, layout.rawValue)
        }
    }
}
