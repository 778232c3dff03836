import Foundation
import XCTest
@testable import Models
@testable import NeuralNet
import TestSupport

/// Logits of an architecture with random weights (BatchNorm statistics randomized) against
/// ONNX Runtime running a graph that `script` builds from the same safetensors file; returns
/// max |ours − ORT| / max |ORT|.
func randomWeightParityError(_ architecture: String, script: String, batch: Int, size: Int, head: HeadConfig,
                             classes: Int, seed: UInt64) throws -> Float {
    try PythonReference.requireVenv()
    let directory = try PythonReference.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let model = try Architectures.named(architecture).build(classes: classes, head: head, seed: seed)
    try randomizeBatchNorms(model, seed: seed &+ 1)
    let weights = directory.appendingPathComponent("weights.safetensors")
    try PythonReference.writeWeights(model, to: weights)
    var rng = SeededGenerator(seed: seed &+ 2)
    let pixels = (0..<(batch * 3 * size * size)).map { _ in rng.nextUnit() * 2 - 1 }
    let input = directory.appendingPathComponent("x.bin")
    let output = directory.appendingPathComponent("y.bin")
    try PythonReference.writeFloats(pixels, to: input)
    try PythonReference.run(["onnx-logits", "--weights", weights.path, "--input", input.path,
                             "--shape", "\(batch),3,\(size),\(size)", "--output", output.path],
                            script: PythonReference.root.appendingPathComponent("tools/\(script)"))
    let reference = try PythonReference.readFloats(output)
    let ours = try model.forward(try Tensor(shape: [batch, 3, size, size], values: pixels), mode: .inference).toArray()
    XCTAssertEqual(ours.count, batch * classes)
    XCTAssertGreaterThan(reference.map(abs).max() ?? 0, 1e-3, "logits must not vanish, or the comparison says nothing")
    return relativeError(ours, reference)
}
