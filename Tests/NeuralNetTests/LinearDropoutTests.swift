import XCTest
@testable import NeuralNet
import TestSupport

final class LinearDropoutTests: XCTestCase {
    func testLinearMatchesReferenceAndFiniteDifferences() throws {
        for bias in [true, false] {
            let linear = try Linear(7, 5, bias: bias)
            try randomize(linear, seed: 3)
            let x = try randomTensor([4, 7], seed: 4)
            let expected = Naive.linear(try x.toArray(), n: 4, linear.weight.values, out: 5, inFeatures: 7,
                                        bias: linear.bias?.values)
            assertClose(try linear.forward(x, mode: .inference).toArray(), expected, tolerance: 1e-6, "linear bias=\(bias)")
            try checkGradients(linear, input: x)
        }
        XCTAssertThrowsError(try Linear(7, 5).forward(try randomTensor([4, 6], seed: 1), mode: .inference)) {
            XCTAssertTrue("\($0)".contains("expects [N, 7]"), "\($0)")
        }
    }

    func testDropoutIsIdentityInInferenceAndScalesKeptUnitsInTraining() throws {
        let dropout = try Dropout(0.25, seed: 42)
        let x = try Tensor(shape: [100, 100], repeating: 1)
        XCTAssertEqual(try dropout.forward(x, mode: .inference).toArray(), try x.toArray())
        let y = try dropout.forward(x, mode: .training).toArray()
        let kept = y.filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { abs($0 - 4.0 / 3.0) < 1e-6 })
        XCTAssertEqual(Double(kept.count) / 10_000, 0.75, accuracy: 0.02)
    }

    func testDropoutBackwardUsesTheSameMask() throws {
        let dropout = try Dropout(0.5, seed: 7)
        try checkGradients(dropout, input: try randomTensor([3, 8], seed: 2), prepare: { dropout.generator = SeededGenerator(seed: 7) })
        XCTAssertThrowsError(try Dropout(1.0)) { XCTAssertTrue("\($0)".contains("[0, 1)"), "\($0)") }
    }

    func testAddAndConcat() throws {
        let a = try randomTensor([2, 3, 4, 4], seed: 1), b = try randomTensor([2, 3, 4, 4], seed: 2)
        assertClose(try Add.forward(a, b).toArray(), zip(try a.toArray(), try b.toArray()).map(+), tolerance: 0, "add")
        let dy = try randomTensor([2, 3, 4, 4], seed: 3)
        let (da, db) = Add.backward(dy)
        XCTAssertTrue(da === dy && db === dy)
        XCTAssertThrowsError(try Add.forward(a, try randomTensor([2, 3, 4, 5], seed: 1)))

        // Blocked inputs with channel counts that are not multiples of the 8-channel block.
        let convA = try Conv2D(3, 12, kernel: 1), convB = try Conv2D(3, 20, kernel: 1)
        try randomize(convA, seed: 4); try randomize(convB, seed: 5)
        let x = try randomTensor([2, 3, 3, 3], seed: 6)
        let parts = [try convA.forward(x, mode: .inference), try convB.forward(x, mode: .inference), try a.reshaped([2, 3, 4, 4])]
        let concat = Concat()
        XCTAssertThrowsError(try concat.forward(parts, mode: .training)) { XCTAssertTrue("\($0)".contains("agree"), "\($0)") }
        let same = Array(parts.prefix(2))
        let y = try concat.forward(same, mode: .training)
        XCTAssertEqual(y.shape, [2, 32, 3, 3])
        let pa = try same[0].toArray(), pb = try same[1].toArray(), out = try y.toArray()
        for n in 0..<2 {
            XCTAssertEqual(Array(out[(n * 288)..<(n * 288 + 108)]), Array(pa[(n * 108)..<(n * 108 + 108)]))
            XCTAssertEqual(Array(out[(n * 288 + 108)..<(n * 288 + 288)]), Array(pb[(n * 180)..<(n * 180 + 180)]))
        }
        let grads = try concat.backward(y)
        XCTAssertEqual(try grads[0].toArray(), pa)
        XCTAssertEqual(try grads[1].toArray(), pb)
    }
}
