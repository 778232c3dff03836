import Dermoscopy
import Foundation
import Inference
import Models

/// Runs a model over a set of records and scores it the ISIC way.
public struct Evaluation {
    public let report: EvaluationReport
    public let imageIDs: [String]
    public let files: [URL]
    public let labels: [Int]
    /// Row-major `[images × classes]`.
    public let probabilities: [Float]
    public let skipped: [SkippedImage]

    /// Per-image probabilities in the ISIC 2018 submission layout: `image,MEL,NV,…` with the
    /// model's classes upper-cased, one row per image.
    public func isicCSV() -> String {
        let classes = report.classes
        var lines = [CSVWriter.line(["image"] + classes.map { $0.uppercased() })]
        for (i, id) in imageIDs.enumerated() {
            let row = probabilities[(i * classes.count)..<((i + 1) * classes.count)].map { String(format: "%.6f", $0) }
            lines.append(CSVWriter.line([id] + row))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

public enum Evaluator {
    /// Evaluates `records` of `dataset` with `predictor` (`tta` 1 or 8 dihedral views).
    /// Unreadable images fail the run unless `skipBadImages`, which leaves them out and lists them.
    public static func evaluate(_ predictor: Predictor, dataset: Dataset, records: [DatasetRecord], tta: Int,
                                skipBadImages: Bool, progress: (Int, Int) -> Void = { _, _ in }) throws -> Evaluation {
        let classes = predictor.metadata.classNames
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        var ids: [String] = [], files: [URL] = [], labels: [Int] = [], probabilities: [Float] = []
        var skipped: [SkippedImage] = []
        let chunk = max(1, 32 / tta)
        for start in stride(from: 0, to: records.count, by: chunk) {
            var views: [RGBImage] = []
            for record in records[start..<min(start + chunk, records.count)] {
                guard let label = index[record.label] else {
                    throw TrainingError.badRun("image \(record.imageID) has label '\(record.label)', which the model does not know "
                                               + "(its classes: \(classes.joined(separator: ", ")))")
                }
                do {
                    views.append(try predictor.view(of: dataset.url(of: record)))
                } catch let error as ImageError where skipBadImages {
                    skipped.append(SkippedImage(file: error.file, reason: error.message))
                    continue
                }
                ids.append(record.imageID)
                files.append(dataset.url(of: record))
                labels.append(label)
            }
            for (offset, row) in try predictor.probabilities(views, tta: tta).enumerated() {
                try NonFiniteProbabilityError.check(row, image: files[files.count - views.count + offset].path, classes: classes)
                probabilities += row.map { Float($0) }
            }
            progress(min(start + chunk, records.count), records.count)
        }
        let report = EvaluationReport.compute(try EvaluationInput(probabilities: probabilities, labels: labels, classes: classes))
        return Evaluation(report: report, imageIDs: ids, files: files, labels: labels, probabilities: probabilities,
                          skipped: skipped)
    }
}
