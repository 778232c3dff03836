import XCTest
@testable import NeuralNet
import TestSupport

/// The layers' part in data-parallel training, checked in one process. BatchNorm with its
/// statistics summed over processes (`statisticsSum`, `--sync-bn`): a sum over one process must
/// be plain BatchNorm, forward and backward (finite differences included), and a sum over two
/// processes holding the same images must give each what plain BatchNorm gives on its images.
/// Dropout: a process holding rows k… of the global batch draws those rows' masks.
final class DataParallelLayerTests: XCTestCase {
    /// Every process holds the same values: the sum is `copies` times this one's.
    final class Copies: StatisticsSum {
        let copies: Double
        var calls = 0
        init(_ copies: Double) { self.copies = copies }
        func sum(_ values: UnsafeMutableBufferPointer<Double>) throws {
            calls += 1
            for i in values.indices { values[i] *= copies }
        }
    }

    func make(_ channels: Int, scale: Bool = true) throws -> BatchNorm {
        let bn = try BatchNorm(channels, scale: scale)
        if scale { try bn.weight.assign(randomValues(channels, seed: 1).map { 1 + 0.5 * $0 }) }
        try bn.bias.assign(randomValues(channels, seed: 2))
        return bn
    }

    func testSynchronisedStatisticsEqualPlainBatchNormForwardAndBackward() throws {
        for (shape, copies, scale) in [([3, 5, 4, 3], 1.0, true), ([6, 5], 1.0, true), ([3, 5, 4, 3], 2.0, true),
                                       ([4, 5, 2, 2], 2.0, false)] {
            let plain = try make(5, scale: scale), synced = try make(5, scale: scale)
            let sum = Copies(copies)
            synced.statisticsSum = sum
            let x = try randomTensor(shape, seed: 8)
            let dy = try randomTensor(shape, seed: 9)
            assertClose(try synced.forward(x, mode: .training).toArray(), try plain.forward(x, mode: .training).toArray(),
                        tolerance: 1e-5, "output \(shape) over \(copies) processes")
            let dxSynced = try XCTUnwrap(synced.backward(dy, needsInputGradient: true))
            let dxPlain = try XCTUnwrap(plain.backward(dy, needsInputGradient: true))
            assertClose(try dxSynced.toArray(), try dxPlain.toArray(), tolerance: 1e-4, "input gradient \(shape)")
            assertClose(synced.bias.gradValues, plain.bias.gradValues, tolerance: 1e-5, "β gradient")
            if scale { assertClose(synced.weight.gradValues, plain.weight.gradValues, tolerance: 1e-5, "γ gradient") }
            XCTAssertEqual(sum.calls, 3, "two sums in forward (means, then spread), one in backward")
            if copies == 1 {
                assertClose(synced.runningMean.values, plain.runningMean.values, tolerance: 1e-6, "running mean")
                assertClose(synced.runningVar.values, plain.runningVar.values, tolerance: 1e-6, "running var")
            }
        }
    }

    func testSynchronisedBackwardMatchesFiniteDifferences() throws {
        let bn = try make(4)
        bn.statisticsSum = Copies(1)
        try checkGradients(bn, input: try randomTensor([3, 4, 3, 5], seed: 5))
    }

    func testFrozenAndInferenceStatisticsNeverSum() throws {
        let bn = try make(3)
        let sum = Copies(2)
        bn.statisticsSum = sum
        let x = try randomTensor([2, 3, 2, 2], seed: 1)
        _ = try bn.forward(x, mode: .inference)
        bn.usesRunningStatistics = true
        _ = try bn.forward(x, mode: .training)
        _ = try bn.backward(try randomTensor([2, 3, 2, 2], seed: 2), needsInputGradient: true)
        XCTAssertEqual(sum.calls, 0)
    }

    func testDropoutKeysMasksByTheRowInTheGlobalBatch() throws {
        let x = try randomTensor([6, 10], seed: 3)
        let whole = try Dropout(0.5, seed: 11)
        let all = try whole.forward(x, mode: .training).toArray()
        let lower = try Dropout(0.5, seed: 11)
        lower.rowsBefore = 4
        let values = try x.toArray()
        let share = try lower.forward(try Tensor(shape: [2, 10], values: Array(values[40...])), mode: .training).toArray()
        XCTAssertEqual(share, Array(all[40...]))
    }
}
