import CDNNL
import XCTest
@testable import NeuralNet
import TestSupport

final class FlattenZeroPadTests: XCTestCase {
    /// Flatten reads a blocked activation (a convolution's output) in (C, H, W) order.
    func testFlattenMatchesChannelMajorOrderAndFiniteDifferences() throws {
        let conv = try Conv2D(3, 16, kernel: 3, padding: 1)
        try randomize(conv, seed: 3)
        let x = try randomTensor([2, 3, 5, 4], seed: 1)
        let features = try conv.forward(x, mode: .inference)
        let flatten = Flatten()
        let y = try flatten.forward(features, mode: .inference)
        XCTAssertEqual(y.shape, [2, 16 * 5 * 4])
        let plain = try features.toArray()
        var expected: [Float] = []
        for n in 0..<2 { for c in 0..<16 { for h in 0..<5 { for w in 0..<4 {
            expected.append(plain[((n * 16 + c) * 5 + h) * 4 + w])
        } } } }
        XCTAssertEqual(try y.toArray(), expected)
        try checkGradients(Sequential([("", conv), ("", flatten)]), input: x)
        XCTAssertThrowsError(try flatten.forward(try randomTensor([2, 3], seed: 1), mode: .inference))
    }

    func testZeroPadMatchesNaiveLoopAndFiniteDifferences() throws {
        let pad = try ZeroPad2D(top: 1, bottom: 2, left: 0, right: 3)
        let shape = [2, 3, 4, 5]
        let x = try randomTensor(shape, seed: 7)
        let y = try pad.forward(x, mode: .inference)
        XCTAssertEqual(y.shape, [2, 3, 7, 8])
        let values = try x.toArray()
        var expected = [Float](repeating: 0, count: 2 * 3 * 7 * 8)
        for n in 0..<2 { for c in 0..<3 { for h in 0..<4 { for w in 0..<5 {
            expected[((n * 3 + c) * 7 + h + 1) * 8 + w] = values[((n * 3 + c) * 4 + h) * 5 + w]
        } } } }
        XCTAssertEqual(try y.toArray(), expected)
        try checkGradients(pad, input: x)
        XCTAssertThrowsError(try ZeroPad2D(top: -1, bottom: 0, left: 0, right: 0))
    }

    /// Padding keeps its input's layout (a convolution's NHWC or blocked output) and element
    /// type, so the pooling after it reads it without a reorder; its gradient comes back in
    /// the same layout.
    func testZeroPadKeepsItsInputsLayout() throws {
        let pad = try ZeroPad2D(top: 1, bottom: 2, left: 0, right: 3)
        let plain = try randomTensor([2, 16, 4, 5], seed: 9)
        let expected = try pad.forward(plain, mode: .inference).toArray()
        for tag in [dnnl_acdb, dnnl_aBcd16b, dnnl_aBcd8b] {
            let x = try plain.converted(to: .make([2, 16, 4, 5], tag))
            let y = try pad.forward(x, mode: .training)
            XCTAssertTrue(y.md.isEqual(to: try .make([2, 16, 7, 8], tag)), "tag \(tag.rawValue): \(y.layout)")
            XCTAssertEqual(try y.toArray(), expected, "tag \(tag.rawValue)")
            let dx = try XCTUnwrap(pad.backward(y, needsInputGradient: true))
            XCTAssertTrue(dx.md.isEqual(to: x.md), "gradient layout \(dx.layout)")
            XCTAssertEqual(try dx.toArray(), try plain.toArray(), "the gradient of the padded copy is the crop")
        }
    }

    /// The case ZeroPad2D exists for: max pooling over zero padding differs from oneDNN's
    /// padded pooling when a window's real values are all negative. Inputs are spaced apart
    /// so the finite-difference step never changes a window's winner.
    func testZeroPaddedMaxPoolLetsPaddingWin() throws {
        let shape = [1, 2, 5, 5]
        var rng = SeededGenerator(seed: 4)
        let values = (0..<50).map { Float($0) * 0.1 - 4.05 }.shuffled(using: &rng)
        let x = try Tensor(shape: shape, values: values)
        let padded = Sequential([("", try ZeroPad2D(1)), ("", try Pool2D(.max, kernel: 3, stride: 2))])
        let y = try padded.forward(x, mode: .inference).toArray()
        let unpadded = Naive.pool(values, shape, max: true, includePadding: false, kernel: [3, 3], stride: [2, 2],
                                  padding: [1, 1], outSize: [3, 3])
        let interior = [4, 13]  // the centre window of each channel sees no padding
        for i in 0..<18 {
            XCTAssertEqual(y[i], interior.contains(i) ? unpadded[i] : max(unpadded[i], 0), "output \(i)")
        }
        XCTAssertTrue(zip(y, unpadded).contains { $0 != $1 }, "some window must be won by a padded zero")
        try checkGradients(padded, input: x)
    }
}
