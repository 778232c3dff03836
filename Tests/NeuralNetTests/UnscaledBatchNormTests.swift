import XCTest
@testable import NeuralNet
import TestSupport

/// BatchNorm without γ (Keras's `scale=False`, InceptionV3's BatchNorms): the state dict has
/// no `weight`, the output is the normalised input plus β, and folding into a convolution
/// uses γ = 1.
final class UnscaledBatchNormTests: XCTestCase {
    func make(_ channels: Int) throws -> BatchNorm {
        let bn = try BatchNorm(channels, epsilon: 1e-3, scale: false)
        try bn.bias.assign(randomValues(channels, seed: 2))
        try bn.runningMean.assign(randomValues(channels, seed: 3).map { 0.2 * $0 })
        try bn.runningVar.assign(randomValues(channels, seed: 4).map { 1 + 0.5 * $0 })
        return bn
    }

    func testStateDictHasNoGamma() throws {
        let bn = try make(3)
        XCTAssertFalse(bn.scaled)
        XCTAssertEqual(bn.namedParameters.map(\.name), ["bias", "running_mean", "running_var", "num_batches_tracked"])
        XCTAssertEqual(bn.parameters.filter { $0.kind == .weight }.count, 1, "β is the only learned parameter")
    }

    func testForwardMatchesNaiveLoopWithUnitGamma() throws {
        let ones = [Float](repeating: 1, count: 5)
        for shape in [[3, 5, 4, 3], [6, 5]] {
            let bn = try make(5)
            let x = try randomTensor(shape, seed: 8)
            let (mean, variance) = Naive.statistics(try x.toArray(), shape)
            let training = Naive.batchNorm(try x.toArray(), shape, mean: mean, variance: variance, gamma: ones,
                                           beta: bn.bias.values, epsilon: 1e-3)
            let inference = Naive.batchNorm(try x.toArray(), shape, mean: bn.runningMean.values, variance: bn.runningVar.values,
                                            gamma: ones, beta: bn.bias.values, epsilon: 1e-3)
            assertClose(try bn.forward(x, mode: .inference).toArray(), inference, tolerance: 1e-5, "inference \(shape)")
            assertClose(try bn.forward(x, mode: .training).toArray(), training, tolerance: 1e-5, "training \(shape)")
        }
    }

    func testBackwardMatchesFiniteDifferences() throws {
        try checkGradients(try make(4), input: try randomTensor([3, 4, 3, 5], seed: 5))
        let frozen = try make(4)
        frozen.usesRunningStatistics = true
        try checkGradients(frozen, input: try randomTensor([2, 4, 3, 3], seed: 7))
        let bn = try make(4)
        _ = try bn.forward(try randomTensor([2, 4, 3, 3], seed: 1), mode: .training)
        _ = try bn.backward(try randomTensor([2, 4, 3, 3], seed: 2), needsInputGradient: true)
        XCTAssertNil(bn.weight.grad, "the fixed γ gets no gradient")
        XCTAssertNotNil(bn.bias.grad)
    }

    /// ConvBN folds an unscaled BatchNorm with γ = 1 into the convolution.
    func testFoldedIntoConvolutionEqualsSeparateLayers() throws {
        let unit = try ConvBN(Conv2D(4, 6, kernel: 3, padding: 1), make(6), activation: .relu, names: ("conv", "bn"))
        try randomize(unit.conv, seed: 3, scale: 0.3)
        let x = try randomTensor([2, 4, 5, 5], seed: 9)
        let separate = try Activation(.relu).forward(unit.bn.forward(unit.conv.forward(x, mode: .inference), mode: .inference),
                                                     mode: .inference)
        assertClose(try unit.forward(x, mode: .inference).toArray(), try separate.toArray(), tolerance: 1e-5, "folded")
        XCTAssertEqual(unit.namedParameters.map(\.name), ["conv.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                                                         "bn.num_batches_tracked"])
    }
}
