import XCTest
@testable import NeuralNet
import TestSupport

/// For a block's finite-difference check: convolution weights of deviation `scale` (small
/// enough for the chain being checked), and every BatchNorm uses running statistics with
/// γ = 0.2, β = 3, so the ReLUs after them stay on their linear side even when a step of 0.1
/// moves γ, and the block is linear in each input and weight taken alone (see
/// EfficientNetTests.testMBConvBackwardMatchesFiniteDifferences: the kinks and the batch
/// statistics are checked op by op in NeuralNetTests).
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
