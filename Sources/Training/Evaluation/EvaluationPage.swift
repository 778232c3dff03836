import Foundation

extension Evaluation {
    /// One-vs-rest ROC curves of every class that has both positives and negatives.
    public func rocCurves() -> [(className: String, points: [(fpr: Double, tpr: Double)])] {
        let k = report.classes.count
        return report.classes.enumerated().compactMap { c, name in
            let scores = labels.indices.map { probabilities[$0 * k + c] }
            guard let roc = Ranking.roc(scores: scores, positives: labels.map { $0 == c }) else { return nil }
            return (name, roc.points.map { ($0.fpr, $0.tpr) })
        }
    }

    /// Positions of the `count` images with the highest loss (−log probability of the true
    /// class): the confident mistakes a reviewer should look at first.
    public func topLosses(_ count: Int) -> [Int] {
        let k = report.classes.count
        return labels.indices.sorted { probabilities[$0 * k + labels[$0]] < probabilities[$1 * k + labels[$1]] }
            .prefix(count).map { $0 }
    }

    /// The self-contained HTML report; `thumbnail` returns a JPEG of an image by position.
    public func html(title: String, epochs: [EpochRecord], intendedUse: String, gallery: Int = 12,
                     members: [(name: String, report: EvaluationReport)] = [], thumbnail: (Int) -> Data?) -> String {
        let k = report.classes.count
        let losses = topLosses(gallery).map { i -> (imageID: String, trueClass: String, predicted: String, confidence: Double,
                                                    thumbnailJPEG: Data?) in
            let row = probabilities[(i * k)..<((i + 1) * k)]
            let predicted = row.indices.max { row[$0] < row[$1] }! - i * k
            return (imageIDs[i], report.classes[labels[i]], report.classes[predicted], Double(row.max()!), thumbnail(i))
        }
        var input = HTMLReport.Input(title: title, report: report, rocCurves: rocCurves(), epochs: epochs,
                                     topLosses: losses, intendedUse: intendedUse)
        input.members = members
        return HTMLReport.render(input)
    }
}
