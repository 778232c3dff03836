import Foundation
import Inference

/// Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks", §4.2): one scalar T > 0
/// divides every logit before the softmax. It is fitted on a validation set by minimizing the mean negative
/// log-likelihood, and since it never changes the argmax, accuracy and the confusion matrix stay as they were
/// while the confidences become honest.
public enum TemperatureScaling {
    /// The range T is searched in, the model file's bound on a temperature: below 0.05 or above 20 a fit says
    /// more about the validation set (perfectly separated, or labels unrelated to the logits) than about the model.
    public static let bounds = ModelLimits.temperature

    /// The T in `bounds` minimizing mean NLL of softmax(logits / T) over the images, in Double.
    ///
    /// As a function of β = 1/T the NLL, mean(logsumexp(β z) − β z_y), is convex (log-sum-exp of a linear
    /// function), with derivative mean(E_softmax(βz)[z] − z_y) and second derivative mean(Var_softmax(βz)[z])
    /// ≥ 0. So the minimum is the one root of a monotone derivative, found by Newton steps from T = 1 kept
    /// inside a shrinking bracket (a step that leaves it bisects instead): quadratic convergence with the
    /// guarantee of bisection. When the derivative does not change sign the minimum is at a bound.
    ///
    /// Throws `MetricsError` naming the field when there are fewer than 2 classes, no image, a logit count that
    /// is not images × classes, a label outside 0..<classes, or a logit that is not finite.
    public static func fit(logits: [Float], labels: [Int], classes: Int) throws -> Float {
        guard classes >= 2 else {
            throw MetricsError(field: "classes", message: "expected at least 2 classes, got \(classes)")
        }
        try MetricsError.checkRows(logits.count, field: "logits", labels: labels, classes: classes)
        if let bad = logits.firstIndex(where: { !$0.isFinite }) {
            throw MetricsError(
                field: "logits",
                message: "image \(bad / classes), class \(bad % classes) is \(logits[bad]); expected a finite logit")
        }

        var lower = 1 / Double(bounds.upperBound), upper = 1 / Double(bounds.lowerBound)   // bracket on β
        if derivatives(logits, labels, classes, beta: lower).slope >= 0 { return bounds.upperBound }
        if derivatives(logits, labels, classes, beta: upper).slope <= 0 { return bounds.lowerBound }
        var beta = 1.0
        for _ in 0..<100 {
            let (slope, curvature) = derivatives(logits, labels, classes, beta: beta)
            if slope == 0 { break }
            if slope < 0 { lower = beta } else { upper = beta }
            var next = beta - slope / curvature
            if !(next > lower && next < upper) { next = (lower + upper) / 2 }
            let converged = abs(next - beta) <= 1e-12 * beta
            beta = next
            if converged { break }
        }
        return Float(1 / beta)
    }

    /// softmax(logits / T) row by row, in Double with the row maximum subtracted so no exponent overflows.
    public static func apply(_ logits: [Float], classes: Int, temperature: Float) -> [Float] {
        precondition(classes >= 1 && logits.count % classes == 0, "logits must be [images, \(classes)], got \(logits.count) values")
        precondition(temperature.isFinite && temperature > 0, "temperature must be finite and > 0, got \(temperature)")
        var probabilities = [Float](repeating: 0, count: logits.count)
        for start in stride(from: 0, to: logits.count, by: classes) {
            let row = logits[start..<(start + classes)].map { Double($0) / Double(temperature) }
            let maximum = row.max()!
            let exponentials = row.map { exp($0 - maximum) }
            let sum = exponentials.reduce(0, +)
            for (offset, value) in exponentials.enumerated() { probabilities[start + offset] = Float(value / sum) }
        }
        return probabilities
    }

    /// First and second derivative of the mean NLL with respect to β = 1/T.
    private static func derivatives(_ logits: [Float], _ labels: [Int], _ classes: Int, beta: Double)
        -> (slope: Double, curvature: Double)
    {
        var slope = 0.0, curvature = 0.0
        var weights = [Double](repeating: 0, count: classes)
        for (image, label) in labels.enumerated() {
            let row = logits[(image * classes)..<((image + 1) * classes)]
            let maximum = Double(row.max()!)
            var sum = 0.0
            for (offset, z) in row.enumerated() {
                weights[offset] = exp(beta * (Double(z) - maximum))
                sum += weights[offset]
            }
            var mean = 0.0
            for (offset, z) in row.enumerated() { mean += weights[offset] / sum * Double(z) }
            var variance = 0.0
            for (offset, z) in row.enumerated() { variance += weights[offset] / sum * (Double(z) - mean) * (Double(z) - mean) }
            slope += mean - Double(row[row.startIndex + label])
            curvature += variance
        }
        return (slope / Double(labels.count), curvature / Double(labels.count))
    }
}
