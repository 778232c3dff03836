import XCTest
@testable import NeuralNet
import TestSupport

final class ConvBNTests: XCTestCase {
    func make(activation: Activation.Kind?, stride: Int = 1, bias: Bool = true) throws -> ConvBN {
        let unit = try ConvBN(Conv2D(8, 16, kernel: 3, stride: stride, padding: 1, bias: bias), BatchNorm(16),
                              activation: activation, names: ("conv", "bn"))
        try randomize(unit.conv, seed: 3, scale: 0.3)
        try unit.bn.weight.assign(randomValues(16, seed: 4).map { 1 + 0.5 * $0 })
        try unit.bn.bias.assign(randomValues(16, seed: 5))
        try unit.bn.runningMean.assign(randomValues(16, seed: 6).map { 0.3 * $0 })
        try unit.bn.runningVar.assign(randomValues(16, seed: 7).map { 1 + 0.5 * $0 })
        return unit
    }

    /// Folding BatchNorm into the convolution and fusing ReLU (and the residual sum) must
    /// give what the separate layers give in inference mode.
    func testFusedInferenceEqualsSeparateLayers() throws {
        for (activation, stride) in [(Activation.Kind.relu, 1), (.relu6, 2), (nil, 1)] {
            let unit = try make(activation: activation, stride: stride)
            let x = try randomTensor([2, 8, 9, 9], seed: 8)
            var expected = try unit.bn.forward(unit.conv.forward(x, mode: .inference), mode: .inference)
            let residual = try randomTensor(expected.shape, seed: 9)
            let residualValues = try residual.toArray()
            if let activation { expected = try Activation(activation).forward(expected, mode: .inference) }
            assertClose(try unit.forward(x, mode: .inference).toArray(), try expected.toArray(), tolerance: 1e-5,
                        "fused \(String(describing: activation))")

            var sum = try Add.forward(try unit.bn.forward(unit.conv.forward(x, mode: .inference), mode: .inference), residual)
            if let activation { sum = try Activation(activation).forward(sum, mode: .inference) }
            let fused = try unit.forward(x, adding: residual, mode: .inference)
            assertClose(try fused.toArray(), try sum.toArray(), tolerance: 1e-5, "fused residual")
            XCTAssertNotEqual(residualValues, [], "residual captured before it was consumed")
        }
    }

    func testFoldingFollowsWeightUpdates() throws {
        let unit = try make(activation: .relu)
        let x = try randomTensor([1, 8, 5, 5], seed: 1)
        let first = try unit.forward(x, mode: .inference).toArray()
        try unit.bn.runningMean.assign([Float](repeating: 0.5, count: 16))
        let second = try unit.forward(x, mode: .inference).toArray()
        XCTAssertNotEqual(first, second, "changed statistics must reach the folded weights")
        let expected = try Activation(.relu).forward(unit.bn.forward(unit.conv.forward(x, mode: .inference), mode: .inference),
                                                     mode: .inference)
        assertClose(second, try expected.toArray(), tolerance: 1e-5, "after update")
    }

    /// Without conv bias: ahead of training-mode BatchNorm its true gradient is exactly zero
    /// (the batch mean removes it), so a relative check would compare noise with noise.
    func testBackwardMatchesFiniteDifferences() throws {
        try checkGradients(try make(activation: nil, bias: false), input: try randomTensor([2, 8, 5, 5], seed: 2))
    }

    func testMismatchedChannelsAreRejected() {
        XCTAssertThrowsError(try ConvBN(Conv2D(3, 8, kernel: 1), BatchNorm(4), activation: nil, names: ("c", "b"))) {
            XCTAssertTrue("\($0)".contains("b has 4 channels but c produces 8"), "\($0)")
        }
    }
}
