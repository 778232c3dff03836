import Foundation
import XCTest
@testable import NeuralNet
import TestSupport

final class ActivationPoolingTests: XCTestCase {
    func testReLUAndReLU6() throws {
        let x = try randomTensor([2, 3, 4, 5], seed: 1, gap: 0.05)
        let scaled = try Tensor(shape: x.shape, values: try x.toArray().map { $0 * 8 })
        for (kind, f) in [(Activation.Kind.relu, { (v: Float) in max(v, 0) }), (.relu6, { (v: Float) in min(max(v, 0), 6) })] {
            let layer = Activation(kind)
            XCTAssertEqual(try layer.forward(scaled, mode: .inference).toArray(), try scaled.toArray().map(f), "\(kind)")
            // Scaled by 8, some inputs exceed 6; the step keeps clear of both kinks at 0 and 6.
            try checkGradients(layer, input: scaled, step: 1e-3)
        }
    }

    /// The heads' activations against their formulas in Double (Keras's definitions) and
    /// finite differences; inputs span [−3, 3] so the saturating parts are exercised.
    func testSmoothActivations() throws {
        let x = try randomTensor([2, 3, 4, 5], seed: 3, gap: 0.05)
        let spread = try Tensor(shape: x.shape, values: try x.toArray().map { $0 * 3 })
        let sigmoid = { (v: Double) in 1 / (1 + Foundation.exp(-v)) }
        let formulas: [(Activation.Kind, (Double) -> Double)] = [
            (.sigmoid, sigmoid), (.tanh, { Foundation.tanh($0) }), (.elu, { $0 > 0 ? $0 : Foundation.exp($0) - 1 }),
            (.gelu, { $0 * 0.5 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }), (.swish, { $0 * sigmoid($0) }),
        ]
        XCTAssertEqual(Set(formulas.map(\.0.rawValue) + ["relu", "relu6"]), Set(Activation.Kind.allCases.map(\.rawValue)))
        for (kind, f) in formulas {
            let layer = Activation(kind)
            let expected = try spread.toArray().map { Float(f(Double($0))) }
            assertClose(try layer.forward(spread, mode: .inference).toArray(), expected, tolerance: 1e-6, "\(kind)")
            try checkGradients(layer, input: spread, step: 1e-3)
        }
    }

    /// Inputs spaced 0.1 apart in random order, so a 1e-2 step never changes which element
    /// wins a max-pooling window.
    func distinctValues(_ shape: [Int]) throws -> Tensor {
        let n = shape.reduce(1, *)
        var rng = SeededGenerator(seed: 4)
        let values = (0..<n).map { Float($0) * 0.1 - Float(n) * 0.05 }.shuffled(using: &rng)
        return try Tensor(shape: shape, values: values)
    }

    func testPoolingMatchesReferenceAndFiniteDifferences() throws {
        let configs: [(Pool2D.Kind, Int, Int, Int, [Int])] = [
            (.max, 3, 2, 1, [2, 3, 9, 9]),          // ResNet's stem pool
            (.max, 2, 2, 0, [1, 2, 7, 5]),          // odd sizes drop the last row/column
            (.average(countIncludesPadding: true), 3, 1, 1, [1, 4, 5, 6]),
            (.average(countIncludesPadding: false), 3, 2, 1, [2, 2, 7, 7]),
        ]
        for (kind, k, s, p, shape) in configs {
            let pool = try Pool2D(kind, kernel: k, stride: s, padding: p)
            let x = try distinctValues(shape)
            let y = try pool.forward(x, mode: .inference)
            let expected = Naive.pool(try x.toArray(), shape, max: kind == .max,
                                      includePadding: kind == .average(countIncludesPadding: true),
                                      kernel: [k, k], stride: [s, s], padding: [p, p], outSize: Array(y.shape.suffix(2)))
            assertClose(try y.toArray(), expected, tolerance: 1e-6, "\(kind) k\(k) s\(s) p\(p)")
            try checkGradients(pool, input: x)
        }
    }

    func testGlobalAveragePool() throws {
        let gap = GlobalPool(.average)
        let x = try randomTensor([3, 5, 4, 3], seed: 2)
        let y = try gap.forward(x, mode: .inference)
        XCTAssertEqual(y.shape, [3, 5])
        let values = try x.toArray()
        let expected = (0..<15).map { i in values[(i * 12)..<(i * 12 + 12)].reduce(0, +) / 12 }
        assertClose(try y.toArray(), expected, tolerance: 1e-6, "global average")
        try checkGradients(gap, input: x)
    }

    /// Keras's GlobalMaxPooling2D: the largest value of each channel; its gradient goes to
    /// that element alone (distinct inputs, so a step never changes the winner).
    func testGlobalMaxPool() throws {
        let pool = GlobalPool(.max)
        let x = try distinctValues([2, 3, 4, 5])
        let y = try pool.forward(x, mode: .inference)
        XCTAssertEqual(y.shape, [2, 3])
        let values = try x.toArray()
        XCTAssertEqual(try y.toArray(), (0..<6).map { i in values[(i * 20)..<(i * 20 + 20)].max()! })
        try checkGradients(pool, input: x)
    }

    func testPoolRejectsOversizePadding() {
        XCTAssertThrowsError(try Pool2D(.max, kernel: 2, stride: 2, padding: 2)) {
            XCTAssertTrue("\($0)".contains("smaller than the kernel"), "\($0)")
        }
    }
}
