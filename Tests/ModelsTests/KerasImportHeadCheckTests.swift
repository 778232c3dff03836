import Foundation
@testable import Interop
@testable import Models
@testable import NeuralNet
import TestSupport
import XCTest

/// Saved models' configurations against SkinLesion's head: what a Keras head computes beyond
/// its weights (activations, extra layers, bias and BatchNorm options, ε, dropout) is either
/// what we compute, and imported with its ε and rate, or refused naming the Keras layer.
extension KerasImportTests {
    private static let configLayouts: [KerasFileWriter.Layout] = [.keras2Model, .keras3Archive]

    private func headModel(dropout: Float = 0.3) throws -> Classifier {
        let model = try Architectures.named("densenet121").build(classes: 3, head: .mlp(hidden: [8], dropout: dropout), seed: 61)
        try randomizeBatchNorms(model, seed: 62)
        return model
    }

    /// Each head below differs from ours in one way the weights cannot show; both Keras 2's
    /// and Keras 3's configuration layouts must refuse it, naming the layer and the problem.
    func testSavedHeadsThatComputeSomethingElseAreRefused() throws {
        let model = try headModel()
        let standard = KerasFileWriter.headConfig(of: model)
        // standard: avg_pool, dense, batch_normalization, activation, dropout, dense_1.
        XCTAssertEqual(standard.map { $0["class_name"] as? String }, ["GlobalAveragePooling2D", "Dense", "BatchNormalization",
                                                                       "Activation", "Dropout", "Dense"])
        func changed(_ index: Int, _ key: String, _ value: Any) -> [[String: Any]] {
            var head = standard
            var config = head[index]["config"] as! [String: Any]
            config[key] = value
            head[index]["config"] = config
            return head
        }
        func inserted(_ className: String, _ name: String, at index: Int) -> [[String: Any]] {
            var head = standard
            head.insert(["class_name": className, "config": ["name": name]], at: index)
            return head
        }
        var swapped = standard
        swapped.swapAt(3, 4)
        let cases: [(label: String, head: [[String: Any]], expected: [String])] = [
            ("ReLU inside the Dense, before BatchNormalization", changed(1, "activation", "relu"),
             ["Keras layer 'dense' (Dense) applies 'relu' itself, before BatchNormalization"]),
            ("output without softmax", changed(5, "activation", "sigmoid"),
             ["Keras layer 'dense_1' (Dense) has activation 'sigmoid'"]),
            ("second pooling", inserted("GlobalAveragePooling2D", "global_average_pooling2d", at: 1),
             ["Keras layer 'global_average_pooling2d' (GlobalAveragePooling2D) stands where a Dense layer belongs"]),
            ("flatten", inserted("Flatten", "flatten", at: 1), ["Keras layer 'flatten' (Flatten) stands where a Dense layer belongs"]),
            ("Dense without bias", changed(1, "use_bias", false), ["Keras layer 'dense' (Dense) has use_bias=False"]),
            ("BatchNorm without center", changed(2, "center", false),
             ["Keras layer 'batch_normalization' (BatchNormalization) has center=false, scale=true"]),
            ("BatchNorm without scale", changed(2, "scale", false), ["center=true, scale=false"]),
            ("Dropout before ReLU", swapped,
             ["Keras layer 'dropout' (Dropout) follows BatchNormalization 'batch_normalization' where a plain ReLU belongs"]),
            ("capped ReLU", { var head = standard; head[3] = ["class_name": "ReLU", "config": ["name": "re_lu", "max_value": 6.0]]
                              return head }(), ["Keras layer 're_lu' (ReLU) follows BatchNormalization"]),
        ]
        for (label, head, expected) in cases {
            for layout in Self.configLayouts {
                let url = try KerasFileWriter.write(model, layout: layout, in: directory, head: head)
                XCTAssertThrowsError(try KerasImporter.load(url, architecture: model.architecture), "\(label), \(layout)") { error in
                    let message = "\(error)"
                    XCTAssertTrue(message.hasPrefix(url.lastPathComponent + ": "), "\(label), \(layout): \(message)")
                    for part in expected + ["SkinLesion's head on densenet121 computes the backbone (to Keras layer 'relu') → GlobalAveragePooling2D → "] {
                        XCTAssertTrue(message.contains(part), "\(label), \(layout): \(message)")
                    }
                }
            }
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
        var last = variant[5]["config"] as! [String: Any]
        last["activation"] = "linear"
        variant[5]["config"] = last
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
