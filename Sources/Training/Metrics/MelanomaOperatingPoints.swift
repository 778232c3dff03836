/// How many melanomas the melanoma-vs-rest decision can catch while keeping false alarms (benign lesions sent
/// to biopsy) at a fixed rate — the question a screening tool is judged by, which one AUC does not answer.
/// For each target, the highest sensitivity over the thresholds on the melanoma probability whose
/// specificity reaches it.
public struct MelanomaOperatingPoints: Codable, Sendable, Equatable {
    public let sensitivityAtSpecificity80: Double
    public let sensitivityAtSpecificity90: Double
    public let sensitivityAtSpecificity95: Double

    public init(sensitivityAtSpecificity80: Double, sensitivityAtSpecificity90: Double, sensitivityAtSpecificity95: Double) {
        self.sensitivityAtSpecificity80 = sensitivityAtSpecificity80
        self.sensitivityAtSpecificity90 = sensitivityAtSpecificity90
        self.sensitivityAtSpecificity95 = sensitivityAtSpecificity95
    }

    /// Class names that mean melanoma (case-insensitive): HAM10000 / ISIC 2019 `mel`, ISIC 2017 `melanoma`,
    /// ISIC 2016 / 2020 `malignant`.
    static let classNames: Set<String> = ["mel", "melanoma", "malignant"]

    static func melanomaClass(in classes: [String]) -> Int? {
        classes.firstIndex { classNames.contains($0.lowercased()) }
    }

    /// Read off a one-vs-rest ROC curve (which includes the (0, 0) point at threshold +∞, so every target is
    /// reachable, if only with sensitivity 0).
    init(roc points: [(fpr: Double, tpr: Double, threshold: Float)]) {
        func sensitivity(atSpecificity target: Double) -> Double {
            // The tolerance keeps 1 − 2/20 = 0.9 from missing a 0.9 target by a rounding error.
            points.filter { 1 - $0.fpr >= target - 1e-9 }.map(\.tpr).max() ?? 0
        }
        self.init(
            sensitivityAtSpecificity80: sensitivity(atSpecificity: 0.80),
            sensitivityAtSpecificity90: sensitivity(atSpecificity: 0.90),
            sensitivityAtSpecificity95: sensitivity(atSpecificity: 0.95))
    }
}
