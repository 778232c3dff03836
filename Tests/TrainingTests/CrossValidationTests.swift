import Dermoscopy
import Foundation
@testable import Inference
import XCTest
@testable import Training

/// `train --folds`: lesion-grouped folds, one run each, out-of-fold predictions, and the fold
/// models as an ensemble.
extension TrainerTests {
    func testFoldsTrainScoreOutOfFoldAndEnsemble() throws {
        let (dataset, _) = try data()
        let folds = try Splitter.kFold(dataset, k: 3, groupBy: .lesion, seed: 3)
        var config = config()
        config.epochs = 1
        config.warmupEpochs = 0
        config.emaDecay = nil
        config.emaWarmup = nil
        for fold in 0..<3 {
            let manifest = try CrossValidation.manifest(folds, fold: fold)
            let val = Set(manifest.records(in: "val", of: dataset).map(\.imageID))
            XCTAssertEqual(val, Set(folds.entries.filter { $0.fold == fold }.map(\.imageID)))
            let lesions = { (split: String) in Set(manifest.records(in: split, of: dataset).compactMap(\.lesionID)) }
            XCTAssertTrue(lesions("train").isDisjoint(with: lesions("val")), "a lesion must not be in two splits")
            try Trainer(config: config, dataset: dataset, manifest: manifest,
                        run: CrossValidation.runDirectory(directory, fold: fold), weights: nil, log: { _ in }).fit()
        }
        let summary = try CrossValidation.summarize(root: directory, folds: folds, dataset: dataset)
        XCTAssertEqual(summary.images, dataset.records.count, "every image is predicted once, by the fold that never trained on it")
        XCTAssertEqual(summary.accuracy.folds.count, 3)
        let oof = try String(contentsOf: directory.appendingPathComponent("oof.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(oof.count, dataset.records.count + 1)
        XCTAssertTrue(oof[0].hasPrefix("image,fold,label,akiec"), String(oof[0]))

        let manifest = try EnsembleManifest.read(from: directory.appendingPathComponent("ensemble.json"))
        XCTAssertEqual(manifest.members.map(\.model), ["fold-0/best.safetensors", "fold-1/best.safetensors", "fold-2/best.safetensors"])
        let records = Array(dataset.records.prefix(12))
        for combination in EnsembleManifest.Combination.allCases {
            var weighted = manifest
            weighted.combination = combination
            weighted.members[0].weight = 2
            let ensemble = try Ensemble(manifest: weighted, relativeTo: directory)
            let (combined, members) = try Evaluator.evaluate(ensemble, dataset: dataset, records: records, skipBadImages: false)
            XCTAssertEqual(members.count, 3)
            let k = combined.report.classes.count
            for i in 0..<records.count {
                let rows = members.map { m in (0..<k).map { Double(m.probabilities[i * k + $0]) } }
                /// Weights 2, 1, 1 over the three members' values of one class.
                func weighted(_ v: [Double]) -> Double {
                    let sum: Double = 2 * v[0] + v[1] + v[2]
                    return sum / 4
                }
                func normalized(_ v: [Double]) -> [Double] {
                    let total: Double = v.reduce(0, +)
                    return v.map { $0 / total }
                }
                let expected: [Double]
                switch combination {
                case .mean: expected = (0..<k).map { c in weighted(rows.map { $0[c] }) }
                case .geometric: expected = normalized((0..<k).map { c in exp(weighted(rows.map { log($0[c]) })) })
                case .rank:
                    let ranks: [[Double]] = members.map { m in (0..<k).map { c in
                        Ensemble.ranks((0..<records.count).map { Double(m.probabilities[$0 * k + c]) })[i]
                    } }
                    expected = normalized((0..<k).map { c in weighted(ranks.map { $0[c] }) })
                }
                for c in 0..<k {
                    XCTAssertEqual(Double(combined.probabilities[i * k + c]), expected[c], accuracy: 1e-5, "\(combination) image \(i)")
                }
            }
        }
        XCTAssertEqual(Ensemble.ranks([0.3, 0.1, 0.3, 0.9]), [0.625, 0.25, 0.625, 1.0])
    }
}
