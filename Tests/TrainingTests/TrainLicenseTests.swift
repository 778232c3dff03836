import Dermoscopy
import Foundation
import Inference
import TestSupport
import XCTest

/// `skinlesion train` records the datasets' licences in the model file's training summary and
/// the model card: detected from the format, or as stated with `--data-license`.
final class TrainLicenseTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try temporaryDirectory("skinlesion-license") }

    /// One quick epoch of head-only training on a synthetic set labelled `classes`.
    func train(_ name: String, classes: [String], extra: [String] = []) throws -> (metadata: ModelMetadata, card: String) {
        let data = directory.appendingPathComponent("data-\(name)")
        try SyntheticLesions.write(to: data, classes: classes, perClass: 12, side: 32)
        let run = directory.appendingPathComponent("run-\(name)")
        let result = try CommandLineTool.run(["train", "--dataset", data.path, "--arch", "efficientnet-lite0", "--image-size", "32",
                                              "--epochs", "1", "--batch-size", "4", "--freeze", "all", "--augment", "none",
                                              "--output", run.path] + extra, logs: directory.appendingPathComponent(name))
        XCTAssertEqual(result.status, 0, result.stderr)
        let metadata = try ModelFile.load(from: run.appendingPathComponent("best.safetensors")).metadata
        return (metadata, try String(contentsOf: run.appendingPathComponent("MODEL_CARD.md"), encoding: .utf8))
    }

    func testDetectedLicenceGoesIntoTheModelFileAndCard() throws {
        let (metadata, card) = try train("codes", classes: ["mel", "nv"])
        let licenses = try XCTUnwrap(metadata.training?.dataLicenses)
        XCTAssertEqual(licenses.map(\.license), ["CC BY-NC 4.0"])
        XCTAssertTrue(licenses[0].basis.contains("DermaMNIST"), licenses[0].basis)
        XCTAssertTrue(card.contains("## Licence of the data"), card)
        XCTAssertTrue(card.contains("data-codes: CC BY-NC 4.0 (a CSV manifest labelled with HAM10000's diagnosis codes"), card)
        XCTAssertTrue(card.contains("a model trained on them carries that non-commercial term"), card)
    }

    func testStatedLicenceOverridesDetection() throws {
        let (metadata, card) = try train("own", classes: ["benign", "malignant"], extra: ["--data-license", "CC BY 4.0"])
        XCTAssertEqual(metadata.training?.dataLicenses?.map(\.license), ["CC BY 4.0"])
        XCTAssertTrue(card.contains("data-own: CC BY 4.0 (stated with train --data-license)"), card)
        XCTAssertFalse(card.contains("non-commercial"), card)

        let unstated = try train("unstated", classes: ["benign", "malignant"])
        XCTAssertEqual(unstated.metadata.training?.dataLicenses?.map(\.license), ["unknown: state it yourself"])
        XCTAssertTrue(unstated.card.contains("The licence of some training data is unknown"), unstated.card)

        let twice = try CommandLineTool.run(["train", "--dataset", "a", "--data-license", "x", "--data-license", "y",
                                             "--output", directory.appendingPathComponent("never").path],
                                            logs: directory.appendingPathComponent("twice"))
        XCTAssertEqual(twice.status, 64, twice.stderr)
        XCTAssertTrue(twice.stderr.contains("give --data-license once for all datasets or once per --dataset (1), not 2 times"), twice.stderr)
    }
}
