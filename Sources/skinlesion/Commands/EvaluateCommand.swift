import ArgumentParser
import Dermoscopy
import Distributed
import Foundation
import Inference
import NeuralNet
import Training

/// `skinlesion evaluate`: the ISIC metrics of a model on a split, as a table on stdout and as
/// JSON, an ISIC-format per-image CSV and an HTML report under `--output`.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model on a split: accuracy, balanced accuracy, per-class metrics, AUC, calibration."
    )

    @OptionGroup var model: ModelSelection
    @OptionGroup var selection: SplitSelection
    @Option(help: "Test-time augmentation: 1, or 8 to average the 8 dihedral views.") var tta = 1
    @Option(help: "Directory for report.json, predictions.csv and report.html.") var output: String?
    @Flag(help: "Skip unreadable images (listed on stderr) instead of stopping.") var skipBadImages = false
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Option(help: "Compute threads (default: all cores; under mpirun give each rank its share).") var threads: Int?
    @Option(help: Precision.help) var precision: Precision?

    /// Under mpirun the images of a single model are shared among the ranks and rank 0 reports
    /// (an ensemble is evaluated by rank 0 alone).
    func run() throws {
        let world = try World.communicator()
        try world.run { try evaluate(world) }
    }

    private func evaluate(_ world: any Communicator) throws {
        if let threads { Engine.threads = threads }
        let modelURL = model.primaryModel
        let ensemble = try model.loadEnsemble(tta: tta, precision: precision)
        let predictor = try ensemble?.members[0].predictor ?? Predictor(modelFile: modelURL, precision: precision)
        let (dataset, records, description) = try selection.records(besideModel: modelURL, defaultSplit: "test")
        let who = ensemble.map { "ensemble of \($0.members.count) (\($0.combination.rawValue))" } ?? "tta \(tta)"
        if world.isRoot {
            FileHandle.standardError.write(Data("evaluate: \(records.count) images (\(description)), \(who)\n".utf8))
        }
        let evaluation: Evaluation, members: [(name: String, report: EvaluationReport)]
        if let ensemble {
            guard world.isRoot else { return }
            let result = try Evaluator.evaluate(ensemble, dataset: dataset, records: records, skipBadImages: skipBadImages)
            evaluation = result.ensemble
            members = zip(ensemble.members, result.members).map { ($0.name, $1.report) }
        } else {
            guard let gathered = try Evaluator.evaluate(predictor, dataset: dataset, records: records, tta: tta,
                                                        skipBadImages: skipBadImages, communicator: world) else { return }
            evaluation = gathered
            members = []
        }
        if !evaluation.unknownMetadata.isEmpty {
            FileHandle.standardError.write(Data(("note: metadata outside the model's categories, encoded as unknown: "
                + evaluation.unknownMetadata.prefix(10).joined(separator: "; ") + "\n").utf8))
        }
        for skipped in evaluation.skipped { FileHandle.standardError.write(Data("skipped \(skipped.file): \(skipped.reason)\n".utf8)) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let reportJSON = try encoder.encode(evaluation.report)
        if let output {
            let directory = URL(fileURLWithPath: output)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try AtomicFile.write(reportJSON, to: directory.appendingPathComponent("report.json"))
            if !members.isEmpty {
                let perMember = Dictionary(uniqueKeysWithValues: members.map { ($0.name, $0.report) })
                try AtomicFile.write(encoder.encode(perMember), to: directory.appendingPathComponent("members.json"))
            }
            try AtomicFile.write(Data(evaluation.isicCSV().utf8), to: directory.appendingPathComponent("predictions.csv"))
            let run = RunDirectory(modelURL.deletingLastPathComponent())
            let html = evaluation.html(title: "\(predictor.metadata.architecture) — \(description)", epochs: EpochRecord.read(from: run),
                                       intendedUse: predictor.metadata.intendedUse, members: members) { i in
                guard let image = try? ImageDecoder.decode(contentsOf: evaluation.files[i], minimumSize: (96, 96)) else { return nil }
                return try? JPEGEncoder.encode(Resize.shorterSideThenCenterCrop(image, size: 96))
            }
            try AtomicFile.write(Data(html.utf8), to: directory.appendingPathComponent("report.html"))
        }
        if json {
            print(String(decoding: reportJSON, as: UTF8.self))
        } else {
            print(summary(evaluation.report))
            if !members.isEmpty { print(membersTable(evaluation.report, members)) }
        }
        FileHandle.standardError.write(Data("note: \(predictor.metadata.intendedUse)\n".utf8))
    }

    /// The ensemble and each member on the same images, side by side.
    private func membersTable(_ ensemble: EvaluationReport, _ members: [(name: String, report: EvaluationReport)]) -> String {
        func auc(_ r: EvaluationReport) -> String { r.macroAUC.map { String(format: "%.4f", $0) } ?? "n/a" }
        var lines = ["", "model                                     accuracy  balanced  macro AUC  macro F1"]
        for (name, r) in [("ensemble", ensemble)] + members {
            let shown = name.count > 40 ? "…" + name.suffix(39) : name
            lines.append(shown.padding(toLength: 42, withPad: " ", startingAt: 0)
                         + String(format: "%8.4f  %8.4f  %9@  %8.4f", r.accuracy, r.balancedAccuracy, auc(r), r.macroF1))
        }
        return lines.joined(separator: "\n")
    }

    private func summary(_ r: EvaluationReport) -> String {
        var lines = [String(format: "images %d   accuracy %.4f   balanced accuracy %.4f   macro F1 %.4f   macro AUC %@",
                            r.images, r.accuracy, r.balancedAccuracy, r.macroF1, r.macroAUC.map { String(format: "%.4f", $0) } ?? "n/a"),
                     String(format: "ECE %.4f   Brier %.4f", r.expectedCalibrationError, r.brierScore)]
        if let m = r.melanoma {
            lines.append(String(format: "melanoma sensitivity at 80/90/95%% specificity: %.3f / %.3f / %.3f",
                                m.sensitivityAtSpecificity80, m.sensitivityAtSpecificity90, m.sensitivityAtSpecificity95))
        }
        lines.append("class     support  precision  recall  specificity  F1      AUC")
        for c in r.perClass {
            lines.append(c.name.padding(toLength: 10, withPad: " ", startingAt: 0)
                         + String(format: "%7d  %9.3f  %6.3f  %11.3f  %6.3f  %@", c.support, c.precision, c.recall, c.specificity,
                                  c.f1, c.auc.map { String(format: "%.3f", $0) } ?? "n/a"))
        }
        return lines.joined(separator: "\n")
    }
}
