import Foundation
import XCTest
import Training

/// ECE, Brier and the reliability diagram on examples small enough to check by hand, and temperature scaling
/// on logits whose true temperature is known.
final class CalibrationTests: XCTestCase {
    func testPerfectlyCalibratedPredictionsHaveZeroECE() throws {
        // Confidence 0.75 right 3 times of 4, 0.5 right once of 2 (the tie predicts class 0), 1.0 right twice.
        let probabilities: [Float] = [
            0.75, 0.25, 0.75, 0.25, 0.75, 0.25, 0.75, 0.25,
            0.5, 0.5, 0.5, 0.5,
            1, 0, 1, 0,
        ]
        let input = try EvaluationInput(probabilities: probabilities, labels: [0, 0, 0, 1, 0, 1, 0, 0], classes: ["nv", "mel"])
        let report = EvaluationReport.compute(input)
        XCTAssertEqual(report.expectedCalibrationError, 0, accuracy: 1e-15)
        // Brier: right at 0.75 → 2 · 0.25² = 0.125 (×3); wrong at 0.75 → 2 · 0.75² = 1.125; 0.5 → 0.5 (×2);
        // certain and right → 0 (×2). (0.375 + 1.125 + 1) / 8 = 0.3125.
        XCTAssertEqual(report.brierScore, 0.3125, accuracy: 1e-15)

        // With 15 bins, 0.5 falls in (7/15, 8/15], 0.75 in (11/15, 12/15], 1 in (14/15, 1].
        XCTAssertEqual(report.reliability.count, 15)
        XCTAssertEqual(report.reliability.map(\.count), [0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 2])
        XCTAssertEqual(report.reliability[11], ReliabilityBin(lower: 11.0 / 15, upper: 12.0 / 15, count: 4, meanConfidence: 0.75, accuracy: 0.75))
        XCTAssertEqual(report.reliability[7], ReliabilityBin(lower: 7.0 / 15, upper: 8.0 / 15, count: 2, meanConfidence: 0.5, accuracy: 0.5))
        XCTAssertEqual(report.reliability[14], ReliabilityBin(lower: 14.0 / 15, upper: 1, count: 2, meanConfidence: 1, accuracy: 1))
        XCTAssertEqual(report.reliability[0], ReliabilityBin(lower: 0, upper: 1.0 / 15, count: 0, meanConfidence: nil, accuracy: nil))
        // Bins are closed on the right: with 4 bins 0.5, 0.75 and 1 are upper bounds and stay in their bins.
        XCTAssertEqual(EvaluationReport.compute(input, calibrationBins: 4).reliability.map(\.count), [0, 2, 4, 2])
    }

    func testAlwaysConfidentAndWrong() throws {
        let certain = try EvaluationInput(probabilities: [1, 0, 1, 0, 1, 0], labels: [1, 1, 1], classes: ["nv", "mel"])
        let report = EvaluationReport.compute(certain)
        XCTAssertEqual(report.expectedCalibrationError, 1, accuracy: 1e-15)
        XCTAssertEqual(report.brierScore, 2, accuracy: 1e-15)

        // 90 % sure and always wrong: ECE = |0 − 0.9|, Brier = 0.9² + 0.9².
        let sure = try EvaluationInput(probabilities: [0.9, 0.1, 0.9, 0.1], labels: [1, 1], classes: ["nv", "mel"])
        XCTAssertEqual(EvaluationReport.compute(sure).expectedCalibrationError, 0.9, accuracy: 1e-6)
        XCTAssertEqual(EvaluationReport.compute(sure).brierScore, 1.62, accuracy: 1e-6)
    }

    func testECEWeighsEachBinByItsShareOfImages() throws {
        // 10 images at 0.9 with 6 right (gap 0.3) and 10 at 0.6 with 6 right (gap 0): ECE = ½ · 0.3.
        // Brier: (6 · 0.02 + 4 · 1.62 + 6 · 0.32 + 4 · 0.72) / 20 = 0.57.
        let rows: [[Float]] = Array(repeating: [0.9, 0.1], count: 10) + Array(repeating: [0.6, 0.4], count: 10)
        let labels = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
        let input = try EvaluationInput(probabilities: rows.flatMap { $0 }, labels: labels, classes: ["nv", "mel"])
        let report = EvaluationReport.compute(input, calibrationBins: 5)
        XCTAssertEqual(report.expectedCalibrationError, 0.15, accuracy: 1e-6)
        XCTAssertEqual(report.brierScore, 0.57, accuracy: 1e-6)
        XCTAssertEqual(report.reliability.map(\.count), [0, 0, 0, 10, 10])
        XCTAssertEqual(report.accuracy, 0.6)
    }

    func testTemperatureScalingRecoversAKnownTemperature() throws {
        // Labels drawn from softmax(z); the model reports 2z, so it is over-confident by exactly T = 2.
        let (trueLogits, labels) = Self.sample(images: 4000, classes: 5, seed: 42)
        let overconfident = trueLogits.map { 2 * $0 }
        let temperature = try TemperatureScaling.fit(logits: overconfident, labels: labels, classes: 5)
        XCTAssertEqual(temperature, 2, accuracy: 0.1)

        // It is the minimum of the NLL, computed here independently.
        let nll = { (t: Float) in Self.meanNLL(overconfident, labels, classes: 5, temperature: Double(t)) }
        XCTAssertLessThan(nll(temperature), nll(temperature * 0.99))
        XCTAssertLessThan(nll(temperature), nll(temperature * 1.01))

        // Calibrated logits need no temperature, and rescaling by the fit leaves nothing to fit.
        XCTAssertEqual(try TemperatureScaling.fit(logits: trueLogits, labels: labels, classes: 5), 1, accuracy: 0.05)
        let rescaled = overconfident.map { $0 / temperature }
        XCTAssertEqual(try TemperatureScaling.fit(logits: rescaled, labels: labels, classes: 5), 1, accuracy: 1e-4)
    }

    func testTemperatureStopsAtItsBounds() throws {
        // Always right with a margin: sharper is always better, down to the lower bound.
        XCTAssertEqual(try TemperatureScaling.fit(logits: [3, 0, 0, 3], labels: [0, 1], classes: 2), 0.05)
        // Always wrong: flatter is always better, up to the upper bound.
        XCTAssertEqual(try TemperatureScaling.fit(logits: [3, 0, 0, 3], labels: [1, 0], classes: 2), 20)
    }

    func testApplyIsSoftmaxOfScaledLogits() {
        let log2 = Float(Foundation.log(2.0)), log3 = Float(Foundation.log(3.0))
        let plain = TemperatureScaling.apply([0, log2, log3, 0, 0, 0], classes: 3, temperature: 1)
        let expected: [Float] = [1.0 / 6, 2.0 / 6, 3.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 3]
        for (p, e) in zip(plain, expected) { XCTAssertEqual(p, e, accuracy: 1e-6) }
        let halved = TemperatureScaling.apply([0, 2 * log2], classes: 2, temperature: 2)
        XCTAssertEqual(halved[0], 1.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(halved[1], 2.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(TemperatureScaling.apply([1000, 0], classes: 2, temperature: 0.05), [1, 0], "no overflow")
    }

    func testInvalidTemperatureInputsNameTheField() {
        assertMetricsError(field: "classes", mentions: "at least 2 classes") {
            _ = try TemperatureScaling.fit(logits: [1], labels: [0], classes: 1)
        }
        assertMetricsError(field: "labels", mentions: "at least 1 image") {
            _ = try TemperatureScaling.fit(logits: [], labels: [], classes: 2)
        }
        assertMetricsError(field: "logits", mentions: "2 images × 3 classes = 6 values") {
            _ = try TemperatureScaling.fit(logits: [1, 2, 3, 4], labels: [0, 1], classes: 3)
        }
        assertMetricsError(field: "labels", mentions: "labels[1] is 3; expected a class index in 0..<3") {
            _ = try TemperatureScaling.fit(logits: [1, 2, 3, 4, 5, 6], labels: [0, 3], classes: 3)
        }
        assertMetricsError(field: "logits", mentions: "image 1, class 2 is inf; expected a finite logit") {
            _ = try TemperatureScaling.fit(logits: [1, 2, 3, 4, 5, .infinity], labels: [0, 1], classes: 3)
        }
    }

    /// Logits z ~ N(0, 2²) and a label drawn from softmax(z) for each image, from a 64-bit LCG (Knuth's MMIX
    /// constants) so the data do not depend on the library under test.
    static func sample(images: Int, classes: Int, seed: UInt64) -> (logits: [Float], labels: [Int]) {
        var state = seed
        func uniform() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Double(state >> 11) + 0.5) * 0x1.0p-53
        }
        var logits: [Float] = [], labels: [Int] = []
        for _ in 0..<images {
            let row = (0..<classes).map { _ in Float(2 * (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform())) }
            let weights = row.map { exp(Double($0)) }
            var draw = uniform() * weights.reduce(0, +), label = 0
            while label < classes - 1 && draw >= weights[label] { draw -= weights[label]; label += 1 }
            logits += row
            labels.append(label)
        }
        return (logits, labels)
    }

    static func meanNLL(_ logits: [Float], _ labels: [Int], classes: Int, temperature: Double) -> Double {
        var total = 0.0
        for (image, label) in labels.enumerated() {
            let row = logits[(image * classes)..<((image + 1) * classes)].map { Double($0) / temperature }
            let maximum = row.max()!
            total += maximum + log(row.reduce(0) { $0 + exp($1 - maximum) }) - row[label]
        }
        return total / Double(labels.count)
    }
}
