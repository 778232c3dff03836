import XCTest
@testable import NeuralNet
import TestSupport

final class BatchNormTests: XCTestCase {
    func make(_ channels: Int) throws -> BatchNorm {
        let bn = try BatchNorm(channels)
        try bn.weight.assign(randomValues(channels, seed: 1).map { 1 + 0.5 * $0 })
        try bn.bias.assign(randomValues(channels, seed: 2))
        try bn.runningMean.assign(randomValues(channels, seed: 3).map { 0.2 * $0 })
        try bn.runningVar.assign(randomValues(channels, seed: 4).map { 1 + 0.5 * $0 })
        return bn
    }

    func testTrainingUsesBatchStatisticsAndUpdatesRunningStatistics() throws {
        for shape in [[3, 5, 4, 3], [6, 5]] {
            let bn = try make(5)
            let oldMean = bn.runningMean.values, oldVar = bn.runningVar.values
            let x = try randomTensor(shape, seed: 8)
            let y = try bn.forward(x, mode: .training)
            let (mean, variance) = Naive.statistics(try x.toArray(), shape)
            let expected = Naive.batchNorm(try x.toArray(), shape, mean: mean, variance: variance,
                                           gamma: bn.weight.values, beta: bn.bias.values, epsilon: 1e-5)
            assertClose(try y.toArray(), expected, tolerance: 1e-5, "batch-statistics output \(shape)")
            let n = Float(x.count / 5)
            assertClose(bn.runningMean.values, zip(oldMean, mean).map { 0.9 * $0 + 0.1 * $1 }, tolerance: 1e-5, "running mean")
            assertClose(bn.runningVar.values, zip(oldVar, variance).map { 0.9 * $0 + 0.1 * $1 * n / (n - 1) },
                        tolerance: 1e-5, "running var (unbiased)")
            XCTAssertEqual(bn.numBatchesTracked.values, [1])
        }
    }

    func testInferenceAndFrozenStatisticsUseRunningStatistics() throws {
        let bn = try make(6)
        let x = try randomTensor([2, 6, 3, 3], seed: 9)
        let expected = Naive.batchNorm(try x.toArray(), x.shape, mean: bn.runningMean.values, variance: bn.runningVar.values,
                                       gamma: bn.weight.values, beta: bn.bias.values, epsilon: 1e-5)
        assertClose(try bn.forward(x, mode: .inference).toArray(), expected, tolerance: 1e-5, "inference")
        bn.usesRunningStatistics = true
        let before = bn.runningMean.values
        assertClose(try bn.forward(x, mode: .training).toArray(), expected, tolerance: 1e-5, "frozen statistics")
        XCTAssertEqual(bn.runningMean.values, before, "frozen statistics must not move")
    }

    func testBackwardMatchesFiniteDifferences() throws {
        try checkGradients(try make(4), input: try randomTensor([3, 4, 3, 5], seed: 5))
        try checkGradients(try make(7), input: try randomTensor([5, 7], seed: 6))
        let frozen = try make(4)
        frozen.usesRunningStatistics = true
        try checkGradients(frozen, input: try randomTensor([2, 4, 3, 3], seed: 7))
    }

    func testFrozenWeightsGetNoGradientButInputGradientFlows() throws {
        let bn = try make(3)
        bn.setFrozen(true)
        let x = try randomTensor([2, 3, 2, 2], seed: 1)
        let y = try bn.forward(x, mode: .training)
        let dx = try bn.backward(try Tensor(shape: y.shape, repeating: 1), needsInputGradient: true)
        XCTAssertNil(bn.weight.grad)
        XCTAssertEqual(dx?.shape, x.shape)
    }

    func testRejectsWrongChannelsAndSingleValueBatches() throws {
        let bn = try BatchNorm(4)
        XCTAssertThrowsError(try bn.forward(try randomTensor([2, 3, 2, 2], seed: 1), mode: .inference)) {
            XCTAssertTrue("\($0)".contains("BatchNorm(4) expects"), "\($0)")
        }
        XCTAssertThrowsError(try bn.forward(try randomTensor([1, 4], seed: 1), mode: .training)) {
            XCTAssertTrue("\($0)".contains("more than one value per channel"), "\($0)")
        }
    }
}
