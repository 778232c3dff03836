import Foundation
import XCTest
@testable import Models
@testable import NeuralNet
import TestSupport

/// A Keras Applications layer list written by `tools/keras_layer_lists.py`.
struct KerasLayerList: Decodable {
    struct Entry: Decodable {
        let name: String
        let weights: [[Int]]
    }

    let keras: String
    let total_params: Int
    let layers: [Entry]

    static func load(_ name: String) throws -> KerasLayerList {
        let url = PythonReference.root.appendingPathComponent("Tests/ModelsTests/Fixtures/keras/\(name).json")
        return try JSONDecoder().decode(KerasLayerList.self, from: Data(contentsOf: url))
    }

    /// Our mapping names exactly these layers in this order, every array of each, and each
    /// of our parameters has the Keras array's shape once laid out the Keras way; every
    /// weight and statistic of `model` outside `except` is covered exactly once.
    func check(_ mapping: [KerasLayer], covers model: Classifier, except: [String] = [],
               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(mapping.map(\.name), layers.map(\.name), "layer names and order", file: file, line: line)
        let shapes = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.parameter.shape) })
        for (ours, theirs) in zip(mapping, layers) {
            XCTAssertEqual(ours.weights.count, theirs.weights.count, "\(ours.name): array count", file: file, line: line)
            for (weight, kerasShape) in zip(ours.weights, theirs.weights) {
                guard let shape = shapes[weight.name] else {
                    XCTFail("\(ours.name): no parameter \(weight.name)", file: file, line: line)
                    continue
                }
                XCTAssertEqual(weight.layout.kerasShape(for: shape), kerasShape, "\(ours.name) → \(weight.name)",
                               file: file, line: line)
            }
        }
        let mapped = mapping.flatMap { $0.weights.map(\.name) }
        XCTAssertEqual(Set(mapped).count, mapped.count, "a parameter mapped twice", file: file, line: line)
        let expected = model.namedParameters.filter { $0.parameter.kind != .counter && !except.contains($0.name) }.map(\.name)
        XCTAssertEqual(Set(mapped), Set(expected), "mapped parameters", file: file, line: line)
    }
}

enum KerasBackboneParity {
    static let script = PythonReference.root.appendingPathComponent("tools/keras_backbones_reference.py")

    /// max |ours − ONNX Runtime| / max |ONNX Runtime| for `model` (BatchNorms randomized) on
    /// seeded normal pixels. `extra` adds tensors to the weight file and `replacing` leaves
    /// ours out, for a reference that reads another layout.
    static func relativeError(_ model: Classifier, batch: Int, size: Int, seed: UInt64,
                              extra: [(String, [Int], [Float])] = [], replacing: Set<String> = []) throws -> Float {
        try PythonReference.requireVenv()
        let directory = try PythonReference.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let weights = directory.appendingPathComponent("w.safetensors")
        var writer = SafeTensorsWriter()
        for (name, p) in model.namedParameters where p.kind != .counter && !replacing.contains(name) {
            try writer.add(name, shape: p.shape, floats: p.values)
        }
        for (name, shape, values) in extra { try writer.add(name, shape: shape, floats: values) }
        try writer.write(to: weights)
        var rng = SeededGenerator(seed: seed)
        let pixels = (0..<(batch * 3 * size * size)).map { _ in rng.nextNormal() }
        let input = directory.appendingPathComponent("x.bin"), output = directory.appendingPathComponent("y.bin")
        try PythonReference.writeFloats(pixels, to: input)
        try PythonReference.run(["onnx-logits", "--arch", model.architecture.name, "--weights", weights.path,
                                 "--input", input.path, "--shape", "\(batch),3,\(size),\(size)", "--output", output.path],
                                script: script)
        let reference = try PythonReference.readFloats(output)
        let ours = try model.forward(try Tensor(shape: [batch, 3, size, size], values: pixels), mode: .inference).toArray()
        XCTAssertEqual(ours.count, reference.count)
        XCTAssertEqual(ours.count, batch * model.classes)
        let error = TestSupport.relativeError(ours, reference)
        print("parity \(model.architecture.name) \(batch)×3×\(size)×\(size) head \(model.head): relative error \(error)")
        return error
    }
}

/// For a block's finite-difference check: convolution weights of deviation `scale` (small
/// enough for the chain being checked), and every BatchNorm uses running statistics with
/// γ = 0.2, β = 3, so the ReLUs after them stay on their linear side even when a step of 0.1
/// moves γ, and the block is linear
/// in each input and weight taken alone (see EfficientNetTests.testMBConvBackwardMatchesFiniteDifferences:
/// the kinks and the batch statistics are checked op by op in NeuralNetTests).
func linearizeForGradientCheck(_ batchNorms: [BatchNorm], convolutions: [Conv2D], scale: Float = 0.3,
                               seed: UInt64) throws {
    var rng = SeededGenerator(seed: seed)
    for conv in convolutions {
        try conv.weight.assign((0..<conv.weight.count).map { _ in rng.nextNormal() * scale })
        try conv.bias?.assign((0..<conv.outChannels).map { _ in rng.nextNormal() * 0.1 })
    }
    for bn in batchNorms {
        try bn.weight.assign([Float](repeating: 0.2, count: bn.channels))
        try bn.bias.assign([Float](repeating: 3, count: bn.channels))
        bn.usesRunningStatistics = true
    }
}
