/// Predictions for a set of images: row-major probabilities [n, k] (each row sums to 1), the true label of
/// each image and the class names. Everything is validated once here, so the metrics can trust it.
public struct EvaluationInput: Sendable {
    public let probabilities: [Float]
    public let labels: [Int]
    public let classes: [String]

    /// How far a row may sum from 1: FP32 softmax over a handful of classes is off by ~1e-7, probabilities
    /// read back from a CSV with 4 decimals by up to k · 5e-5.
    public static let rowSumTolerance = 1e-3

    /// Throws `MetricsError` naming the field when: there are fewer than 2 classes or a class name repeats,
    /// there is no image, the probability count is not images × classes, a label is outside 0..<k, a
    /// probability is not finite or outside [0, 1], or a row does not sum to 1 ± `rowSumTolerance`.
    public init(probabilities: [Float], labels: [Int], classes: [String]) throws {
        let k = classes.count
        guard k >= 2 else {
            throw MetricsError(field: "classes", message: "expected at least 2 class names, got \(k)")
        }
        if let repeated = classes.enumerated().first(where: { classes[..<$0.offset].contains($0.element) }) {
            throw MetricsError(field: "classes", message: "expected distinct class names, \"\(repeated.element)\" appears twice")
        }
        try MetricsError.checkRows(probabilities.count, field: "probabilities", labels: labels, classes: k)
        for image in labels.indices {
            let row = probabilities[(image * k)..<((image + 1) * k)]
            if let bad = row.firstIndex(where: { !$0.isFinite || $0 < 0 || $0 > 1 }) {
                throw MetricsError(
                    field: "probabilities",
                    message: "image \(image), class \(bad - image * k) is \(probabilities[bad]); expected a finite probability in [0, 1]")
            }
            let sum = row.reduce(0.0) { $0 + Double($1) }
            guard abs(sum - 1) <= Self.rowSumTolerance else {
                throw MetricsError(
                    field: "probabilities",
                    message: "image \(image) sums to \(sum); expected each row to sum to 1 ± \(Self.rowSumTolerance)")
            }
        }
        self.probabilities = probabilities
        self.labels = labels
        self.classes = classes
    }

    var images: Int { labels.count }

    /// The probabilities of one image.
    func row(_ image: Int) -> ArraySlice<Float> {
        probabilities[(image * classes.count)..<((image + 1) * classes.count)]
    }

    /// One class's probability for every image: the score its one-vs-rest ROC and precision–recall curves rank.
    func scores(of classIndex: Int) -> [Float] {
        labels.indices.map { probabilities[$0 * classes.count + classIndex] }
    }

    /// Top-1 class of each image; a tie goes to the lowest index, as `numpy.argmax` does.
    func predictions() -> [Int] {
        labels.indices.map { image in
            let row = row(image)
            var best = row.startIndex
            for index in row.indices where row[index] > row[best] { best = index }
            return best - row.startIndex
        }
    }
}
