import Dermoscopy
import Distributed
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
    /// Metadata values the model's spec did not know (`image: feature=value`), encoded as unknown.
    public let unknownMetadata: [String]

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
    /// A fusion model reads each record's metadata columns through its spec.
    public static func evaluate(_ predictor: Predictor, dataset: Dataset, records: [DatasetRecord], tta: Int,
                                skipBadImages: Bool, progress: (Int, Int) -> Void = { _, _ in }) throws -> Evaluation {
        try predictions(predictor, dataset: dataset, records: records, tta: tta, skipBadImages: skipBadImages, progress: progress)
            .evaluation(classes: predictor.metadata.classNames)
    }

    /// `evaluate` sharded over the ranks of `communicator`: each takes a contiguous run of whole
    /// chunks of `records` (so every image is computed in the very chunk it is in alone), rank 0
    /// gathers the rows in order and returns the evaluation, the other ranks nil.
    public static func evaluate(_ predictor: Predictor, dataset: Dataset, records: [DatasetRecord], tta: Int,
                                skipBadImages: Bool, communicator: any Communicator) throws -> Evaluation? {
        let mine = records[communicator.shard(count: records.count, batchSize: chunkSize(tta: tta))]
        let part = try predictions(predictor, dataset: dataset, records: Array(mine), tta: tta, skipBadImages: skipBadImages)
        guard let parts = try communicator.gather(bytes: [UInt8](JSONEncoder().encode(part)), to: 0) else { return nil }
        let all = try parts.map { try JSONDecoder().decode(Predictions.self, from: Data($0)) }
        return try Predictions(ids: all.flatMap(\.ids), files: all.flatMap(\.files), labels: all.flatMap(\.labels),
                               probabilityBits: all.flatMap(\.probabilityBits), skipped: all.flatMap(\.skipped),
                               unknown: all.flatMap(\.unknown)).evaluation(classes: predictor.metadata.classNames)
    }

    /// Images per `Predictor.probabilities` call.
    private static func chunkSize(tta: Int) -> Int { max(1, 32 / tta) }

    /// What an evaluation holds before its report, in a form ranks can send (probabilities as
    /// their bit patterns, so a gather changes no bit).
    private struct Predictions: Codable {
        var ids: [String] = [], files: [String] = [], labels: [Int] = [], probabilityBits: [UInt32] = []
        /// (file, reason) of each skipped image.
        var skipped: [[String]] = [], unknown: [String] = []

        func evaluation(classes: [String]) throws -> Evaluation {
            let probabilities = probabilityBits.map(Float.init(bitPattern:))
            let report = EvaluationReport.compute(try EvaluationInput(probabilities: probabilities, labels: labels, classes: classes))
            return Evaluation(report: report, imageIDs: ids, files: files.map { URL(fileURLWithPath: $0) }, labels: labels,
                              probabilities: probabilities, skipped: skipped.map { SkippedImage(file: $0[0], reason: $0[1]) },
                              unknownMetadata: unknown)
        }
    }

    private static func predictions(_ predictor: Predictor, dataset: Dataset, records: [DatasetRecord], tta: Int,
                                    skipBadImages: Bool, progress: (Int, Int) -> Void = { _, _ in }) throws -> Predictions {
        let classes = predictor.metadata.classNames
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        var ids: [String] = [], files: [URL] = [], labels: [Int] = [], probabilities: [Float] = []
        var skipped: [SkippedImage] = [], unknown: [String] = []
        let chunk = chunkSize(tta: tta)
        for start in stride(from: 0, to: records.count, by: chunk) {
            var views: [RGBImage] = [], vectors: [[Float]] = []
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
                if predictor.takesMetadata {
                    let encoded = try predictor.encodeMetadata(record.metadata)
                    vectors.append(encoded.vector)
                    unknown += encoded.unknown.map { "\(record.imageID): \($0)" }
                }
                ids.append(record.imageID)
                files.append(dataset.url(of: record))
                labels.append(label)
            }
            let rows = try predictor.probabilities(views, metadata: predictor.takesMetadata ? vectors : nil, tta: tta)
            for (offset, row) in rows.enumerated() {
                try NonFiniteProbabilityError.check(row, image: files[files.count - views.count + offset].path, classes: classes)
                probabilities += row.map { Float($0) }
            }
            progress(min(start + chunk, records.count), records.count)
        }
        return Predictions(ids: ids, files: files.map(\.path), labels: labels, probabilityBits: probabilities.map(\.bitPattern),
                           skipped: skipped.map { [$0.file, $0.reason] }, unknown: unknown)
    }

    /// Evaluates every member of `ensemble` on `records` (each with its own TTA and pipeline)
    /// and combines them; the members' own evaluations come back for the side-by-side report.
    public static func evaluate(_ ensemble: Ensemble, dataset: Dataset, records: [DatasetRecord], skipBadImages: Bool,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> (ensemble: Evaluation, members: [Evaluation]) {
        let members = try ensemble.members.enumerated().map { index, member in
            try evaluate(member.predictor, dataset: dataset, records: records, tta: member.tta, skipBadImages: skipBadImages) { done, total in
                progress(index * total + done, ensemble.members.count * total)
            }
        }
        let first = members[0]
        for (member, evaluation) in zip(ensemble.members, members) where evaluation.imageIDs != first.imageIDs {
            throw TrainingError.badRun("\(member.name) could read a different set of images than \(ensemble.members[0].name)")
        }
        let k = ensemble.classNames.count
        let rows = members.map { e in (0..<e.labels.count).map { i in e.probabilities[(i * k)..<((i + 1) * k)].map(Double.init) } }
        let combined = try ensemble.combine(rows).flatMap { $0.map(Float.init) }
        let report = EvaluationReport.compute(try EvaluationInput(probabilities: combined, labels: first.labels, classes: ensemble.classNames))
        return (Evaluation(report: report, imageIDs: first.imageIDs, files: first.files, labels: first.labels, probabilities: combined,
                           skipped: first.skipped, unknownMetadata: members.flatMap(\.unknownMetadata)), members)
    }
}
