import Foundation
import XCTest
@testable import Models
@testable import NeuralNet

/// A Keras Applications layer list written by `tools/keras_layer_list.py` (pip `keras`,
/// `weights=None`): each weight-holding layer with its weights' names and Keras shapes.
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
    let total_params: Int
    let layers: [Layer]

    static func load(_ application: String) throws -> KerasLayerFixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/keras/\(application).json")
        return try JSONDecoder().decode(KerasLayerFixture.self, from: Data(contentsOf: url))
    }

    /// Our `[out, in/groups, kh, kw]` / `[out, in]` shape in Keras's layout: HWIO kernels,
    /// `(kh, kw, in, multiplier)` depthwise kernels, `(in, out)` dense kernels.
    static func kerasShape(of ours: [Int], kerasWeight: String) -> [Int] {
        switch (ours.count, kerasWeight) {
        case (4, "depthwise_kernel"): return [ours[2], ours[3], ours[0], ours[1]]
        case (4, _): return [ours[2], ours[3], ours[1], ours[0]]
        case (2, _): return [ours[1], ours[0]]
        default: return ours
        }
    }

    /// The mapping names exactly the fixture's layers, each weight of each layer maps to one of
    /// our parameters with the same number of arrays and matching shapes, and every weight and
    /// running statistic of `model` is claimed exactly once.
    func check(_ mapping: [(name: String, weights: [String])], against model: Classifier,
               file: StaticString = #filePath, line: UInt = #line) {
        let ours = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.parameter) })
        let mapped = Dictionary(mapping.map { ($0.name, $0.weights) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(mapped.count, mapping.count, "duplicate Keras names in the mapping", file: file, line: line)
        XCTAssertEqual(Set(mapped.keys), Set(layers.map(\.name)), "Keras layer names", file: file, line: line)
        for layer in layers {
            guard let names = mapped[layer.name] else { continue }
            XCTAssertEqual(names.count, layer.weights.count, "\(layer.name): number of arrays", file: file, line: line)
            for (weight, name) in zip(layer.weights, names) {
                guard let parameter = ours[name] else {
                    XCTFail("\(layer.name)/\(weight.name) maps to \(name), which the model does not have", file: file, line: line)
                    continue
                }
                XCTAssertEqual(Self.kerasShape(of: parameter.shape, kerasWeight: weight.name), weight.shape,
                               "\(layer.name)/\(weight.name) → \(name)", file: file, line: line)
            }
        }
        let claimed = mapping.flatMap(\.weights)
        XCTAssertEqual(claimed.count, Set(claimed).count, "a parameter is mapped twice", file: file, line: line)
        let stateful = Set(model.namedParameters.filter { $0.parameter.kind != .counter }.map(\.name))
        XCTAssertEqual(Set(claimed), stateful, "every weight and running statistic is mapped", file: file, line: line)
    }
}
