import Dermoscopy
import Foundation
import Inference
import Models
import NeuralNet
import XCTest
@testable import Training

/// Patient metadata fused with the image (`train --metadata`), on the real HAM10000 sample with its
/// own age, sex and localization columns.
extension TrainerTests {
    func metadataConfig() -> TrainingConfig {
        var config = config()
        config.warmupEpochs = 0
        config.metadata = MetadataTraining(features: ["age", "sex", "site"])
        config.metadata?.hidden = [8]
        return config
    }

    func testMetadataFusionTrainsResumesExactlyAndIsUsedByEveryConsumer() throws {
        let (dataset, manifest) = try data()
        let quiet: (String) -> Void = { _ in }
        let straight = try Trainer(config: metadataConfig(), dataset: dataset, manifest: manifest,
                                   run: RunDirectory(directory.appendingPathComponent("straight")), weights: nil, log: quiet)
        try straight.fit()
        let run = RunDirectory(directory.appendingPathComponent("resumed"))
        try Trainer(config: metadataConfig(), dataset: dataset, manifest: manifest, run: run, weights: nil, log: quiet)
            .fit(stopAfterSteps: 3)
        let resumed = try Trainer(config: metadataConfig(), dataset: dataset, manifest: manifest, run: run, weights: nil, log: quiet)
        try resumed.fit()
        for ((name, a), (_, b)) in zip(straight.model.namedParameters, resumed.model.namedParameters) {
            XCTAssertEqual(a.values, b.values, "\(name) differs after resuming a metadata run (feature dropout must replay)")
        }

        let (model, metadata) = try ModelFile.load(from: straight.run.bestModel)
        let spec = try XCTUnwrap(metadata.metadataSpec)
        XCTAssertEqual(spec.features.map(\.column), ["age", "sex", "localization"])
        XCTAssertEqual(metadata.fusion?.inputs, spec.width)
        XCTAssertTrue(model.namedParameters.contains { $0.name == "meta.0.weight" })

        let predictor = try Predictor(modelFile: straight.run.bestModel)
        let record = try XCTUnwrap(manifest.records(in: "val", of: dataset).first)
        let image = dataset.url(of: record)
        let young = try predictor.predict(image, metadata: ["age": "20", "sex": "female", "site": "back"])
        let old = try predictor.predict(image, metadata: ["age": "85", "sex": "male", "site": "face"])
        XCTAssertNotEqual(young.probabilities, old.probabilities, "the metadata must change the prediction")
        let missing = try predictor.predict(image)
        XCTAssertEqual(missing.probabilities.reduce(0, +), 1, accuracy: 1e-9, "all-missing metadata is legal")
        let unknown = try predictor.predict(image, metadata: ["site": "elbow"])
        XCTAssertEqual(unknown.unknownMetadata, ["site=elbow"])
        XCTAssertThrowsError(try predictor.predict(image, metadata: ["age": "old"])) {
            XCTAssertEqual("\($0)", "metadata 'age' must be a number, got 'old'")
        }

        let records = manifest.records(in: "val", of: dataset)
        let evaluation = try Evaluator.evaluate(predictor, dataset: dataset, records: records, tta: 1, skipBadImages: false)
        let byHand = try records.map { try predictor.predict(dataset.url(of: $0), metadata: $0.metadata).probabilities }
        XCTAssertEqual(evaluation.probabilities.count, byHand.count * metadata.classNames.count)
        for (i, row) in byHand.enumerated() {
            for (j, p) in row.enumerated() {
                XCTAssertEqual(Double(evaluation.probabilities[i * row.count + j]), p, accuracy: 1e-5, "evaluate reads the CSV's metadata")
            }
        }
    }

    /// Gessert's two stages: image epochs leave the metadata branch untouched; metadata epochs
    /// train the branch and the head with the backbone frozen.
    func testAfterImageStageTrainsTheImageFirstThenOnlyTheFusion() throws {
        let (dataset, manifest) = try data()
        var config = metadataConfig()
        config.metadata?.stage = .afterImage(imageEpochs: 1)
        config.emaDecay = nil
        config.emaWarmup = nil
        let run = RunDirectory(directory.appendingPathComponent("two-stage"))
        let fresh = try Trainer(config: config, dataset: dataset, manifest: manifest, run: run, weights: nil, log: { _ in })
        let initial = Dictionary(uniqueKeysWithValues: fresh.model.namedParameters.map { ($0.name, $0.parameter.values) })
        try fresh.fit(stopAfterSteps: fresh.batchesPerEpoch)
        let afterImage = Dictionary(uniqueKeysWithValues: fresh.model.namedParameters.map { ($0.name, $0.parameter.values) })
        XCTAssertEqual(afterImage["meta.0.weight"], initial["meta.0.weight"], "the image stage must not train the branch")
        XCTAssertNotEqual(afterImage["_blocks.15._project_conv.weight"], initial["_blocks.15._project_conv.weight"])
        let resumed = try Trainer(config: config, dataset: dataset, manifest: manifest, run: run, weights: nil, log: { _ in })
        try resumed.fit()
        let end = Dictionary(uniqueKeysWithValues: resumed.model.namedParameters.map { ($0.name, $0.parameter.values) })
        XCTAssertNotEqual(end["meta.0.weight"], afterImage["meta.0.weight"], "the metadata stage trains the branch")
        XCTAssertEqual(end["_blocks.15._project_conv.weight"], afterImage["_blocks.15._project_conv.weight"],
                       "the metadata stage keeps the backbone frozen")
        XCTAssertEqual(EpochRecord.read(from: run).map(\.stage), ["_blocks.15", "_fc"])
    }

    func testMetadataOfAnotherDatasetsColumnsIsRefusedByName() throws {
        let (dataset, manifest) = try data()
        var config = metadataConfig()
        config.metadata = MetadataTraining(features: ["anatom_site_general"])
        XCTAssertThrowsError(try Trainer(config: config, dataset: dataset, manifest: manifest,
                                         run: RunDirectory(directory.appendingPathComponent("bad")), weights: nil, log: { _ in })) {
            XCTAssertTrue("\($0)".contains("metadata 'anatom_site_general' is not a column of this dataset"), "\($0)")
        }
    }
}
