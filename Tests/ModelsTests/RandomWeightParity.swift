import Foundation
import XCTest
@testable import Models
@testable import NeuralNet
import TestSupport

/// The ONNX Runtime reference of the Keras-topology architectures: graphs built from Keras
/// Applications' definitions that read our safetensors by name (`onnx-logits --arch NAME …`).
let kerasReferenceScript = PythonReference.root.appendingPathComponent("tools/keras_backbones_reference.py")

/// max |ours − ONNX Runtime| / max |ONNX Runtime| for `model`'s logits (the caller randomizes
/// its BatchNorms) on seeded normal pixels. `extra` adds tensors to the weight file and
/// `replacing` leaves ours out, for a reference that reads another layout (VGG19's
/// Keras-ordered fc1).
func randomWeightParityError(_ model: Classifier, batch: Int, size: Int, seed: UInt64,
                             extra: [(String, [Int], [Float])] = [], replacing: Set<String> = []) throws -> Float {
    try PythonReference.requireVenv()
    let name = model.architecture.name
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
    try PythonReference.run(["onnx-logits", "--arch", name, "--weights", weights.path, "--input", input.path,
                             "--shape", "\(batch),3,\(size),\(size)", "--output", output.path],
                            script: kerasReferenceScript)
    let reference = try PythonReference.readFloats(output)
    let ours = try model.forward(try Tensor(shape: [batch, 3, size, size], values: pixels), mode: .inference).toArray()
    XCTAssertEqual(ours.count, batch * model.classes)
    XCTAssertEqual(ours.count, reference.count)
    XCTAssertGreaterThan(reference.map(abs).max() ?? 0, 1e-3, "logits must not vanish, or the comparison says nothing")
    let error = relativeError(ours, reference)
    print("parity \(name) \(batch)×3×\(size)×\(size) head \(model.head): relative error \(error)")
    return error
}
