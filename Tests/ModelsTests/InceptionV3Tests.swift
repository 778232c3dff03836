import Foundation
@testable import Inference
import XCTest
@testable import Models
@testable import NeuralNet
import TestSupport

final class InceptionV3Tests: XCTestCase {
    /// Keras's `InceptionV3(weights=None).count_params()` with the 1000-class top, which
    /// counts BatchNorm's moving statistics (and there is no γ to count).
    func testParameterCountMatchesKeras() throws {
        let model = try Architectures.named("inceptionv3").build(classes: 1000, head: .linear)
        XCTAssertEqual(model.publishedParameterCount, 23_851_784)
        XCTAssertEqual(model.publishedParameterCount, try KerasLayerFixture.load("InceptionV3").total_params)
        XCTAssertFalse(model.namedParameters.contains { $0.name.hasSuffix("bn.weight") }, "Keras's BatchNorms have no γ")
    }

    func testStagesAndCamLayer() throws {
        let model = try Architectures.named("inceptionv3").build(classes: 7)
        XCTAssertEqual(model.stages, ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
                                      "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
                                      "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c", "fc"])
        let (prefix, suffix) = try model.split(after: model.architecture.camLayer)
        XCTAssertEqual(suffix.count, 2, "global pool and head after Mixed_7c")
        XCTAssertEqual(prefix.count, 18)
        try model.trainFrom(stage: "Mixed_7a")
        let frozen = Set(model.namedParameters.filter { $0.parameter.kind == .weight && $0.parameter.frozen }.map(\.name))
        XCTAssertTrue(frozen.contains("Mixed_6e.branch_pool.conv.weight"))
        XCTAssertFalse(frozen.contains("Mixed_7a.branch3x3_2.conv.weight"))
        XCTAssertTrue(model.namedParameters.contains { $0.name == "Mixed_7c.branch3x3dbl_3b.bn.running_var" })
    }

    /// Every Keras layer (`conv2d_k`, `batch_normalization_k`, `predictions`) maps onto our
    /// parameters with matching shapes, and nothing of ours is left unmapped.
    /// Grad-CAM explains `Mixed_7c`, the last feature map (139² input → 3×3).
    func testGradCAMExplainsLastFeatureMap() throws {
        let model = try Architectures.named("inceptionv3").build(classes: 7)
        try randomizeBatchNorms(model, seed: 2)
        let x = try Tensor(shape: [1, 3, 139, 139], values: randomValues(3 * 139 * 139, seed: 5))
        let pass = try GradCAM.backpropagate(model: model, input: x, classIndex: 3)
        XCTAssertEqual([pass.height, pass.width], [3, 3])
        XCTAssertEqual(pass.channels, 2048)
        let logits = try model.forward(x, mode: .inference).toArray()
        XCTAssertLessThanOrEqual(relativeError(pass.logits, logits), 1e-5, "Grad-CAM's pass gives the inference logits")
        XCTAssertTrue(pass.gradient.contains { $0 != 0 })
    }

    func testKerasLayerMappingMatchesKerasLayerList() throws {
        let model = try Architectures.named("inceptionv3").build(classes: 1000, head: .linear)
        let fixture = try KerasLayerFixture.load("InceptionV3")
        XCTAssertEqual(fixture.layers.count, 189)
        fixture.check(InceptionV3Config.keras.kerasLayers(), against: model)
    }

    /// The native size once, with the ImageNet head.
    func testLogitsMatchOnnxRuntimeAt299() throws {
        let error = try randomWeightParityError("inceptionv3", script: "inception_v3_reference.py", batch: 2, size: 299,
                                                head: .linear, classes: 1000, seed: 3)
        print("parity inceptionv3 299 batch 2: relative error \(error)")
        XCTAssertLessThanOrEqual(error, 1e-4)
    }

    /// A smaller input (every stage still has a spatial extent) with the default MLP head.
    func testLogitsMatchOnnxRuntimeWithStandardHead() throws {
        let error = try randomWeightParityError("inceptionv3", script: "inception_v3_reference.py", batch: 2, size: 139,
                                                head: .standard, classes: 7, seed: 4)
        print("parity inceptionv3 139 batch 2 standard head: relative error \(error)")
        XCTAssertLessThanOrEqual(error, 1e-4)
    }

    /// A mixed module with every kind of step at small widths: a plain unit, a chain ending in
    /// a 1×3 / 3×1 fork, a strided valid unit, the padding-excluding average pool and the max
    /// pool, against finite differences. As in EfficientNetTests, BatchNorms use running
    /// statistics with β = 3 and small weights so every ReLU stays on its linear side, and the
    /// input has a spike at every odd (row, column), one in each max-pool window, so no step
    /// moves a maximum; the ops themselves (ReLU, pools, BatchNorm batch statistics) are
    /// checked in NeuralNetTests.
    func testMixedModuleBackwardMatchesFiniteDifferences() throws {
        typealias Unit = InceptionV3Config.Unit
        let config = InceptionV3Config.keras
        let table: [[InceptionV3Config.Step]] = [
            [.conv(Unit("branch1x1", 3, 1))],
            [.conv(Unit("branch3x3_1", 4, 1)), .fork([Unit("branch3x3_2a", 3, [1, 3]), Unit("branch3x3_2b", 2, [3, 1])])],
            [.conv(Unit("branch3x3", 3, 3, stride: 2, padding: .valid))],
            [.averagePool, .conv(Unit("branch_pool", 2, 1))],
            [.maxPool],
        ]
        // Strided branches give 3×3 from 7×7; the others keep 7×7, so check them in two modules.
        for branches in [Array(table[0..<2]) + [table[3]], [table[2], table[4]]] {
            let (block, channels) = try config.mixed(branches, inChannels: 5)
            var rng = SeededGenerator(seed: 7)
            for (name, p) in block.namedParameters {
                if name.hasSuffix("conv.weight") { try p.assign((0..<p.count).map { _ in rng.nextNormal() * 0.05 }) }
                if name.hasSuffix("bn.bias") { try p.assign([Float](repeating: 3, count: p.count)) }
            }
            for case let unit as ConvBN in allUnits(block) { unit.bn.usesRunningStatistics = true }
            let x = try spikyInput([2, 5, 7, 7])
            let y = try block.forward(x, mode: .inference)
            XCTAssertEqual(y.shape[1], channels)
            try checkGradients(block, input: x, step: 0.05)
        }
    }

    /// Values in ±[0.1, 1.1] plus 4 at odd (row, column): every 3×3 stride-2 pool window
    /// (valid, or TF "same" on even sizes) holds exactly one spike.
    private func spikyInput(_ shape: [Int]) throws -> Tensor {
        let noise = randomValues(shape.reduce(1, *), seed: 17, gap: 0.1)
        let (h, w) = (shape[2], shape[3])
        return try Tensor(shape: shape, values: noise.indices.map { i in
            let (row, column) = ((i / w) % h, i % w)
            return noise[i] + (row % 2 == 1 && column % 2 == 1 ? 4 : 0)
        })
    }

    private func allUnits(_ layer: any Layer) -> [any Layer] {
        if let branches = layer as? Branches { return branches.branches.flatMap { allUnits($0.layer) } }
        if let sequential = layer as? Sequential { return sequential.children.flatMap { allUnits($0.layer) } }
        return [layer]
    }
}
