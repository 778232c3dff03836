import Foundation
import XCTest
@testable import Models
@testable import NeuralNet
import TestSupport

final class EfficientNetTests: XCTestCase {
    static let weights = PythonReference.root.deletingLastPathComponent()
        .appendingPathComponent("shared/weights/efficientnet-lite0/efficientnet-lite0.safetensors")

    func realWeights() throws -> SafeTensorsFile {
        guard FileManager.default.fileExists(atPath: Self.weights.path) else {
            throw XCTSkip("EfficientNet-Lite0 ImageNet weights not found at \(Self.weights.path) (see ../shared/data/README.md)")
        }
        return try SafeTensorsFile(contentsOf: Self.weights)
    }

    /// The real ImageNet checkpoint loads with no missing, unexpected or wrong-shape tensor:
    /// every name and shape of our topology matches the original.
    func testRealImageNetWeightsFitExactly() throws {
        let file = try realWeights()
        let model = try Architectures.named("efficientnet-lite0").build(classes: 1000, head: .linear)
        XCTAssertEqual(model.parameterCount, 4_652_008)
        try model.load(from: file)
        XCTAssertEqual(Set(model.namedParameters.map(\.name)), Set(file.names))
        let fc = model.namedParameters.first { $0.name == "_fc.weight" }!.parameter
        XCTAssertEqual(fc.values, try file.floats("_fc.weight"))
    }

    /// Logits of the real ImageNet network against ONNX Runtime running
    /// `tools/efficientnet_reference.py`'s graph (built from the package's own forward
    /// semantics: TF "same" padding fixed for 224, BatchNorm ε 1e-3, ReLU6, no SE).
    func testRealWeightsMatchOnnxRuntime() throws {
        let file = try realWeights()
        try PythonReference.requireVenv()
        let directory = try PythonReference.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let model = try Architectures.named("efficientnet-lite0").build(classes: 1000, head: .linear)
        try model.load(from: file)
        for batch in [1, 2] {
            var rng = SeededGenerator(seed: UInt64(batch))
            let pixels = (0..<(batch * 3 * 224 * 224)).map { _ in rng.nextUnit() * 2 - 1 }
            let input = directory.appendingPathComponent("x\(batch).bin")
            let output = directory.appendingPathComponent("y\(batch).bin")
            try PythonReference.writeFloats(pixels, to: input)
            try PythonReference.run(["onnx-logits", "--weights", Self.weights.path, "--input", input.path,
                                     "--shape", "\(batch),3,224,224", "--output", output.path],
                                    script: PythonReference.root.appendingPathComponent("tools/efficientnet_reference.py"))
            let reference = try PythonReference.readFloats(output)
            let ours = try model.forward(try Tensor(shape: [batch, 3, 224, 224], values: pixels), mode: .inference).toArray()
            let error = relativeError(ours, reference)
            print("parity efficientnet-lite0 (ImageNet weights) batch \(batch): relative error \(error)")
            XCTAssertLessThanOrEqual(error, 1e-4, "batch \(batch)")
        }
    }

    func testStagesAndTransferLoading() throws {
        let model = try Architectures.named("efficientnet-lite0").build(classes: 7)
        XCTAssertEqual(model.stages.first, "_conv_stem")
        XCTAssertEqual(Array(model.stages.suffix(3)), ["_blocks.15", "_conv_head", "_fc"])
        XCTAssertEqual(model.stages.count, 19)
        try model.trainFrom(stage: "_blocks.15")
        let frozen = model.namedParameters.filter { $0.parameter.kind == .weight && $0.parameter.frozen }.map(\.name)
        XCTAssertTrue(frozen.contains("_blocks.14._project_conv.weight"))
        XCTAssertFalse(frozen.contains("_blocks.15._project_conv.weight"))
        XCTAssertFalse(frozen.contains("_fc.4.weight"))
        try model.load(from: realWeights(), skipping: ["_fc"])
    }

    /// MBConv's wiring (expand → depthwise → project, plus the shortcut) against finite
    /// differences. Two things would otherwise make the check measure artefacts instead of
    /// gradients, so they are set aside here and checked op by op in NeuralNetTests:
    /// ReLU6 kinks (the BatchNorms ahead of ReLU6 get γ = 0.2, β = 3, keeping outputs inside
    /// (0, 6)), and batch statistics, which make some true gradients exactly zero (a channel
    /// shift ahead of a training-mode BatchNorm cancels), so every BatchNorm uses its running
    /// statistics. The block is then linear in its input and weights taken one at a time, so
    /// a large step (0.1) carries no truncation error and keeps float32 roundoff small.
    func testMBConvBackwardMatchesFiniteDifferences() throws {
        for (stride, inChannels, out) in [(1, 8, 8), (2, 8, 12)] {
            let spec = EfficientNetConfig.Block(expansion: 2, kernel: 3, stride: stride, channels: out, repeats: 1)
            let block = try MBConv(spec, inChannels: inChannels, outChannels: out, stride: stride, inputSize: 7,
                                   epsilon: 1e-3, momentum: 0.01)
            XCTAssertEqual(block.residual, stride == 1)
            var rng = SeededGenerator(seed: 5)
            for p in block.parameters where p.kind == .weight && p.shape.count == 4 {
                try p.assign((0..<p.count).map { _ in rng.nextNormal() * 0.3 })
            }
            for unit in [block.expand, block.depthwise].compactMap({ $0 }) {
                try unit.bn.weight.assign([Float](repeating: 0.2, count: unit.bn.channels))
                try unit.bn.bias.assign([Float](repeating: 3, count: unit.bn.channels))
            }
            for unit in [block.expand, block.depthwise, block.project].compactMap({ $0 }) {
                unit.bn.usesRunningStatistics = true
            }
            let x = try Tensor(shape: [2, inChannels, 7, 7], values: (0..<(2 * inChannels * 49)).map { _ in rng.nextNormal() })
            try checkGradients(block, input: x, step: 0.1)
        }
    }
}
