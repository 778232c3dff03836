import Foundation
import XCTest
@testable import Models
@testable import NeuralNet

/// A Keras Applications layer list written by `tools/keras_layer_lists.py` (pip `keras`,
/// `weights=None`), stored as `Fixtures/keras/<--arch name>.json`: each weight-holding layer
/// with its class and its weights' names and Keras shapes, and Keras's "Total params".
struct KerasLayerFixture: Decodable {
    struct Weight: Decodable {
        let name: String
        let shape: [Int]
    }
    struct Layer: Decodable {
        let name: String
        let `class`: String
        let weights: [Weight]
    }

    let application: String
    let keras_version: String
    let total_params: Int
    let layers: [Layer]

    /// The fixture of architecture `name` (`Architecture.name`, e.g. `vgg19-notop`).
    static func load(_ name: String) throws -> KerasLayerFixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/keras/\(name).json")
        return try JSONDecoder().decode(KerasLayerFixture.self, from: Data(contentsOf: url))
    }

    /// The mapping names exactly the fixture's layers (Keras lists `model.layers` by graph
    /// depth, the mapping in creation order, so names are compared as sets), each layer's
    /// arrays map one to one onto our parameters with the Keras shape once laid out the Keras
    /// way, and every weight and running statistic of `model` outside `except` is claimed
    /// exactly once.
    func check(_ mapping: [KerasLayer], covers model: Classifier, except: [String] = [],
               file: StaticString = #filePath, line: UInt = #line) {
        let ours = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.parameter) })
        let mapped = Dictionary(mapping.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(mapped.count, mapping.count, "duplicate Keras names in the mapping", file: file, line: line)
        XCTAssertEqual(Set(mapped.keys), Set(layers.map(\.name)), "Keras layer names", file: file, line: line)
        for layer in layers {
            guard let entry = mapped[layer.name] else { continue }
            XCTAssertEqual(entry.weights.count, layer.weights.count, "\(layer.name): number of arrays", file: file, line: line)
            for (kerasWeight, weight) in zip(layer.weights, entry.weights) {
                guard let parameter = ours[weight.name] else {
                    XCTFail("\(layer.name)/\(kerasWeight.name) maps to \(weight.name), which the model does not have",
                            file: file, line: line)
                    continue
                }
                XCTAssertEqual(weight.layout.kerasShape(for: parameter.shape), kerasWeight.shape,
                               "\(layer.name)/\(kerasWeight.name) → \(weight.name)", file: file, line: line)
            }
        }
        let claimed = mapping.flatMap { $0.weights.map(\.name) }
        XCTAssertEqual(claimed.count, Set(claimed).count, "a parameter is mapped twice", file: file, line: line)
        let stateful = model.namedParameters.filter { $0.parameter.kind != .counter && !except.contains($0.name) }
        XCTAssertEqual(Set(claimed), Set(stateful.map(\.name)), "every weight and running statistic is mapped",
                       file: file, line: line)
    }
}
