/// How far predicted probabilities are from observed frequencies, after Guo et al. 2017, "On Calibration of
/// Modern Neural Networks" (§2): the reliability diagram and expected calibration error over equal-width
/// bins of the top-1 confidence, and the multi-class Brier score (Brier 1950).
enum Calibration {
    /// Bin m of M holds the confidences in (m/M, (m+1)/M], Guo et al.'s I_m; the bounds are computed on the
    /// Double value of each FP32 probability.
    static func reliability(of input: EvaluationInput, predictions: [Int], bins: Int) -> [ReliabilityBin] {
        precondition(bins >= 1, "calibration needs at least 1 bin, got \(bins)")
        var count = Array(repeating: 0, count: bins)
        var correct = Array(repeating: 0, count: bins)
        var confidenceSum = Array(repeating: 0.0, count: bins)
        for image in 0..<input.images {
            let confidence = Double(input.probabilities[image * input.classes.count + predictions[image]])
            let bin = min(bins - 1, max(0, Int((confidence * Double(bins)).rounded(.up)) - 1))
            count[bin] += 1
            confidenceSum[bin] += confidence
            if predictions[image] == input.labels[image] { correct[bin] += 1 }
        }
        return (0..<bins).map { m in
            ReliabilityBin(
                lower: Double(m) / Double(bins), upper: Double(m + 1) / Double(bins), count: count[m],
                meanConfidence: count[m] == 0 ? nil : confidenceSum[m] / Double(count[m]),
                accuracy: count[m] == 0 ? nil : Double(correct[m]) / Double(count[m]))
        }
    }

    /// ECE = Σₘ |Bₘ|/n · |acc(Bₘ) − conf(Bₘ)|: 0 for a calibrated model, 1 for one that is always certain and
    /// always wrong.
    static func expectedCalibrationError(_ bins: [ReliabilityBin], images: Int) -> Double {
        bins.reduce(0.0) { sum, bin in
            guard let accuracy = bin.accuracy, let confidence = bin.meanConfidence else { return sum }
            return sum + Double(bin.count) / Double(images) * abs(accuracy - confidence)
        }
    }

    /// Mean over images of Σₖ (pₖ − yₖ)² with y the one-hot label: 0 when certain and right, 2 when certain
    /// and wrong. Unlike ECE it also scores the probabilities given to the classes that were not predicted.
    static func brierScore(_ input: EvaluationInput) -> Double {
        var total = 0.0
        for image in 0..<input.images {
            for (offset, p) in input.row(image).enumerated() {
                let error = Double(p) - (offset == input.labels[image] ? 1 : 0)
                total += error * error
            }
        }
        return total / Double(input.images)
    }
}
