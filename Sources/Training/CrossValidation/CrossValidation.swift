import Dermoscopy
import Foundation
import Inference

/// K-fold, lesion-grouped cross-validation (`train --folds K`): one run directory per fold
/// (`fold-N/`, a normal run that resumes on its own), then out-of-fold predictions, the folds'
/// validation metrics as mean ± sd, and an `ensemble.json` of the fold models.
public enum CrossValidation {
    /// The fold's train/val manifest: fold `fold` validates, the others train.
    public static func manifest(_ folds: SplitManifest, fold: Int) throws -> SplitManifest {
        let k = Set(folds.entries.compactMap(\.fold)).count
        guard k >= 2, folds.entries.allSatisfy({ $0.fold != nil }) else {
            throw TrainingError.badRun("the split manifest is not a k-fold manifest (every entry needs a fold)")
        }
        guard (0..<k).contains(fold) else { throw TrainingError.badRun("fold \(fold) is outside 0..<\(k)") }
        var manifest = folds
        manifest.entries = folds.entries.map { entry in
            var entry = entry
            entry.split = entry.fold == fold ? "val" : "train"
            return entry
        }
        manifest.plan = folds.plan + "; fold \(fold) validates"
        return manifest
    }

    public static func runDirectory(_ root: URL, fold: Int) -> RunDirectory {
        RunDirectory(root.appendingPathComponent("fold-\(fold)"))
    }

    /// One metric across folds.
    public struct Spread: Codable, Sendable, Equatable {
        public let mean: Double
        public let sd: Double
        public let folds: [Double]

        init(_ values: [Double]) {
            let mean = values.reduce(0, +) / Double(values.count)
            let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            folds = values
            self.mean = mean
            sd = values.count > 1 ? (squares / Double(values.count - 1)).squareRoot() : 0
        }

        public var formatted: String { String(format: "%.4f ± %.4f", mean, sd) }
    }

    public struct Summary: Codable, Sendable, Equatable {
        public let folds: Int
        public let images: Int
        public let accuracy: Spread
        public let balancedAccuracy: Spread
        public let macroAUC: Spread?
        /// Metrics of all out-of-fold predictions pooled, each image scored by the model that never saw it.
        public let pooledBalancedAccuracy: Double
        public let pooledMacroAUC: Double?
    }

    /// Scores each fold's best model on its own validation fold and writes `oof.csv`,
    /// `cv.json` and `ensemble.json` under `root`.
    public static func summarize(root: URL, folds: SplitManifest, dataset: Dataset, tta: Int = 1) throws -> Summary {
        let k = Set(folds.entries.compactMap(\.fold)).count
        var evaluations: [Evaluation] = [], foldOfRow: [Int] = []
        for fold in 0..<k {
            let run = runDirectory(root, fold: fold)
            guard FileManager.default.fileExists(atPath: run.bestModel.path) else {
                throw TrainingError.badRun("fold \(fold) has no best model yet (\(run.bestModel.path)): train it first")
            }
            let predictor = try Predictor(modelFile: run.bestModel)
            let records = try manifest(folds, fold: fold).records(in: "val", of: dataset)
            let evaluation = try Evaluator.evaluate(predictor, dataset: dataset, records: records, tta: tta, skipBadImages: false)
            evaluations.append(evaluation)
            foldOfRow += [Int](repeating: fold, count: evaluation.labels.count)
        }
        let classes = evaluations[0].report.classes
        var lines = [CSVWriter.line(["image", "fold", "label"] + classes)]
        var pooledProbabilities: [Float] = [], pooledLabels: [Int] = []
        var row = 0
        for evaluation in evaluations {
            for (i, id) in evaluation.imageIDs.enumerated() {
                let p = evaluation.probabilities[(i * classes.count)..<((i + 1) * classes.count)]
                lines.append(CSVWriter.line([id, String(foldOfRow[row]), classes[evaluation.labels[i]]] + p.map { String(format: "%.6f", $0) }))
                row += 1
            }
            pooledProbabilities += evaluation.probabilities
            pooledLabels += evaluation.labels
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: root.appendingPathComponent("oof.csv"), options: .atomic)
        let pooled = EvaluationReport.compute(try EvaluationInput(probabilities: pooledProbabilities, labels: pooledLabels, classes: classes))
        let reports = evaluations.map(\.report)
        let aucs = reports.compactMap(\.macroAUC)
        let summary = Summary(folds: k, images: pooledLabels.count, accuracy: Spread(reports.map(\.accuracy)),
                              balancedAccuracy: Spread(reports.map(\.balancedAccuracy)),
                              macroAUC: aucs.count == k ? Spread(aucs) : nil,
                              pooledBalancedAccuracy: pooled.balancedAccuracy, pooledMacroAUC: pooled.macroAUC)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(summary).write(to: root.appendingPathComponent("cv.json"), options: .atomic)
        try EnsembleManifest(members: (0..<k).map { EnsembleManifest.Member(model: "fold-\($0)/best.safetensors") })
            .write(to: root.appendingPathComponent("ensemble.json"))
        return summary
    }
}
