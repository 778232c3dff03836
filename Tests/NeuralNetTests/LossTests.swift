import XCTest
@testable import NeuralNet
import TestSupport

final class LossTests: XCTestCase {
    /// PyTorch's definition, written out term by term in Double.
    func reference(_ z: [Float], _ labels: [Int], k: Int, weights: [Double], smoothing: Double) -> Double {
        var numerator = 0.0, denominator = 0.0
        for (i, y) in labels.enumerated() {
            let row = z[(i * k)..<(i * k + k)].map(Double.init)
            let lse = log(row.map { exp($0) }.reduce(0, +))
            let nll = { (j: Int) in lse - row[j] }
            numerator += (1 - smoothing) * weights[y] * nll(y)
            numerator += smoothing / Double(k) * (0..<k).reduce(0) { $0 + weights[$1] * nll($1) }
            denominator += weights[y]
        }
        return numerator / denominator
    }

    func testLossAndGradientWithWeightsAndSmoothing() throws {
        let k = 7, labels = [0, 3, 6, 3, 1]
        let logits = try Tensor(shape: [5, k], values: randomValues(35, seed: 1).map { $0 * 4 })
        let configs: [([Float]?, Float)] = [(nil, 0), (nil, 0.1), ([1, 2, 0.5, 3, 1, 0.2, 4], 0), ([1, 2, 0.5, 3, 1, 0.2, 4], 0.2)]
        for (weights, smoothing) in configs {
            let loss = try SoftmaxCrossEntropy(classWeights: weights, labelSmoothing: smoothing)
            let result = try loss(logits: logits, labels: labels)
            let w = (weights ?? [Float](repeating: 1, count: k)).map(Double.init)
            let expected = reference(try logits.toArray(), labels, k: k, weights: w, smoothing: Double(smoothing))
            XCTAssertEqual(Double(result.loss), expected, accuracy: 1e-5, "weights \(String(describing: weights)) ε \(smoothing)")
            // Finite differences of the reference in Double.
            let z = try logits.toArray(), analytic = try result.gradient.toArray()
            let numeric = (0..<z.count).map { i -> Float in
                var plus = z, minus = z
                plus[i] += 1e-3; minus[i] -= 1e-3
                return Float((reference(plus, labels, k: k, weights: w, smoothing: Double(smoothing))
                              - reference(minus, labels, k: k, weights: w, smoothing: Double(smoothing))) / 2e-3)
            }
            assertClose(analytic, numeric, tolerance: 1e-3, "∂loss/∂logits")
            let rowSums = (0..<5).map { result.probabilities[($0 * k)..<($0 * k + k)].reduce(0, +) }
            XCTAssertTrue(rowSums.allSatisfy { abs($0 - 1) < 1e-5 })
        }
    }

    func testBadLabelsAndWeightsAreRejected() throws {
        let logits = try Tensor(shape: [2, 3], repeating: 0)
        let loss = try SoftmaxCrossEntropy()
        XCTAssertThrowsError(try loss(logits: logits, labels: [0, 3])) { XCTAssertTrue("\($0)".contains("label 3"), "\($0)") }
        XCTAssertThrowsError(try loss(logits: logits, labels: [0])) { XCTAssertTrue("\($0)".contains("1 labels"), "\($0)") }
        XCTAssertThrowsError(try SoftmaxCrossEntropy(classWeights: [1, -1, 1]))
        XCTAssertThrowsError(try SoftmaxCrossEntropy(labelSmoothing: 1))
        XCTAssertThrowsError(try SoftmaxCrossEntropy(classWeights: [1, 1])(logits: logits, labels: [0, 1])) {
            XCTAssertTrue("\($0)".contains("2 class weights"), "\($0)")
        }
    }
}
