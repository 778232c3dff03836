import Foundation
@testable import Inference
import XCTest
@testable import Models
@testable import NeuralNet
import TestSupport

final class InceptionV3Tests: XCTestCase {
    func testStagesAndCamLayer() throws {
        let model = try Architectures.named("inceptionv3").build(classes: 7)
        XCTAssertFalse(model.namedParameters.contains { $0.name.hasSuffix("bn.weight") }, "Keras's BatchNorms have no γ")
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
