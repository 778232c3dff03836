import Foundation
@testable import Inference
import XCTest
@testable import Models
@testable import NeuralNet
import TestSupport

final class XceptionTests: XCTestCase {
    func testStagesNamesAndCamLayer() throws {
        let model = try Architectures.named("xception").build(classes: 7)
        XCTAssertEqual(model.stages, ["conv1", "conv2"] + (1...12).map { "block\($0)" } + ["conv3", "conv4", "fc"])
        let (_, suffix) = try model.split(after: model.architecture.camLayer)
        XCTAssertEqual(suffix.count, 2, "global pool and head after conv4")
        let names = Set(model.namedParameters.map(\.name))
        for name in ["conv1.weight", "bn1.running_var", "block1.rep.0.conv1.weight", "block1.rep.1.weight",
                     "block1.rep.3.pointwise.weight", "block1.skip.weight", "block2.rep.1.conv1.weight",
                     "block4.rep.7.pointwise.weight", "block4.rep.8.bias", "block12.rep.4.pointwise.weight",
                     "block12.skipbn.running_mean", "conv3.conv1.weight", "conv4.pointwise.weight", "bn4.weight"] {
            XCTAssertTrue(names.contains(name), name)
        }
        XCTAssertFalse(names.contains("block4.skip.weight"), "middle-flow blocks add their input")
        XCTAssertEqual(model.namedParameters.first { $0.name == "block12.rep.4.pointwise.weight" }?.parameter.shape,
                       [1024, 728, 1, 1], "the exit block widens last")
        try model.trainFrom(stage: "block12")
        XCTAssertTrue(model.namedParameters.first { $0.name == "block11.rep.1.conv1.weight" }!.parameter.frozen)
        XCTAssertFalse(model.namedParameters.first { $0.name == "block12.rep.1.conv1.weight" }!.parameter.frozen)
    }

    /// Entry-flow block (no leading ReLU, strided "same" max pool on an even size, conv
    /// shortcut), middle-flow block (leading ReLU, identity shortcut) and exit-flow block (widens
    /// last) at small widths against finite differences. BatchNorms use running statistics with
    /// γ = 0.2, β = 3 so every ReLU inside stays on its linear side, as in EfficientNetTests;
    /// the input stays 0.1 away from the leading ReLU's kink and has a spike at every odd
    /// (row, column), one per max-pool window, which near-identity depthwise kernels and
    /// positive pointwise weights carry to the pool, so no step moves a maximum.
    func testBlocksBackwardMatchFiniteDifferences() throws {
        typealias Block = XceptionConfig.Block
        let cases: [(Block, Int)] = [(Block(6, repeats: 2, stride: 2, startsWithReLU: false), 4),
                                     (Block(4, repeats: 3, stride: 1), 4),
                                     (Block(6, repeats: 2, stride: 2, growFirst: false), 4)]
        for (spec, inChannels) in cases {
            let block = try XceptionBlock(spec, inChannels: inChannels, epsilon: 1e-3, momentum: 0.01)
            XCTAssertEqual(block.skip == nil, spec.stride == 1)
            var rng = SeededGenerator(seed: 9)
            for (name, p) in block.namedParameters where p.kind == .weight {
                if name.hasSuffix("conv1.weight") {
                    try p.assign((0..<p.count).map { i in (i % 9 == 4 ? 1 : 0) + rng.nextNormal() * 0.1 })
                } else if name.hasSuffix("pointwise.weight") {
                    try p.assign((0..<p.count).map { _ in 0.3 + rng.nextNormal() * 0.1 })
                } else if p.shape.count == 4 {
                    try p.assign((0..<p.count).map { _ in rng.nextNormal() * 0.3 })
                }
                if p.shape.count == 1 && name.hasSuffix("bias") { try p.assign([Float](repeating: 3, count: p.count)) }
                if p.shape.count == 1 && name.hasSuffix("weight") { try p.assign([Float](repeating: 0.2, count: p.count)) }
            }
            for case let unit as SeparableConvBN in block.rep.children.map(\.layer) { unit.pointwise.bn.usesRunningStatistics = true }
            block.skip?.bn.usesRunningStatistics = true
            let noise = randomValues(2 * inChannels * 64, seed: 17, gap: 0.1)
            let x = try Tensor(shape: [2, inChannels, 8, 8], values: noise.indices.map { i in
                noise[i] + ((i / 8) % 2 == 1 && i % 2 == 1 ? 4 : 0)
            })
            let y = try block.forward(x, mode: .inference)
            XCTAssertEqual(y.shape, [2, spec.channels, spec.stride == 1 ? 8 : 4, spec.stride == 1 ? 8 : 4])
            try checkGradients(block, input: x, step: 0.05)
        }
    }

    /// TensorFlow "same" max pooling: output ⌈n/2⌉, the odd padding pixel at the bottom/right,
    /// padding never the max; against a naive loop.
    func testSameMaxPoolMatchesNaiveLoop() throws {
        for size in [6, 7] {
            let pool = SameMaxPool(kernel: 3, stride: 2)
            let x = try randomTensor([1, 2, size, size], seed: UInt64(size))
            let values = try x.toArray()
            let out = (size + 1) / 2
            let total = max((out - 1) * 2 + 3 - size, 0)
            var expected: [Float] = []
            for c in 0..<2 { for i in 0..<out { for j in 0..<out {
                var best = -Float.infinity
                for di in 0..<3 { for dj in 0..<3 {
                    let (r, s) = (i * 2 + di - total / 2, j * 2 + dj - total / 2)
                    if r >= 0 && r < size && s >= 0 && s < size { best = max(best, values[(c * size + r) * size + s]) }
                } }
                expected.append(best)
            } } }
            let y = try pool.forward(x, mode: .inference)
            XCTAssertEqual(y.shape, [1, 2, out, out])
            XCTAssertEqual(try y.toArray(), expected, "size \(size)")
        }
    }
}
