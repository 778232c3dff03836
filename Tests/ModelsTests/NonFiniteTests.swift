import Dermoscopy
import Foundation
import TestSupport
import XCTest
@testable import Inference
@testable import Models
@testable import NeuralNet

/// NaN and infinity: a model file with a non-finite weight is refused at load, naming the
/// tensor; finite weights that overflow on an image give an error naming the image, never a
/// NaN probability.
final class NonFiniteTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try temporaryDirectory("skinlesion-nonfinite") }

    /// A small EfficientNet-Lite0 model file (32×32, two classes) with `edit` applied to its weights.
    func modelFile(_ name: String, edit: (Classifier) throws -> Void) throws -> URL {
        let model = try Architectures.named("efficientnet-lite0").build(classes: 2, head: .linear, seed: 3)
        try edit(model)
        let url = directory.appendingPathComponent(name + ".safetensors")
        try ModelFile.save(model, metadata: ModelMetadata(architecture: model.architecture.name, classNames: ["benign", "malignant"],
                                                          head: .linear, inputSize: 32, preprocessing: model.architecture.preprocessing),
                           to: url)
        return url
    }

    /// Sets element `index` of the parameter called `name` to `value`.
    static func poison(_ name: String, at index: Int, with value: Float) -> (Classifier) throws -> Void {
        { model in
            let parameter = try XCTUnwrap(model.namedParameters.first { $0.name == name }?.parameter)
            var values = parameter.values
            values[index] = value
            try parameter.assign(values)
        }
    }

    func image() throws -> URL {
        let url = directory.appendingPathComponent("lesion.png")
        try PNGEncoder.encode(RGBImage(width: 48, height: 48, filledWith: (200, 140, 120))).write(to: url)
        return url
    }

    func testNonFiniteWeightsAreRefusedAtLoadNamingTheTensor() throws {
        for (tensor, index, value, shown) in [("_fc.weight", 7, Float.nan, "nan"), ("_bn1.running_var", 1000, Float.infinity, "inf"),
                                              ("_blocks.3._depthwise_conv.weight", 0, -Float.infinity, "-inf")] {
            let url = try modelFile("bad-\(tensor)", edit: Self.poison(tensor, at: index, with: value))
            XCTAssertThrowsError(try ModelFile.load(from: url)) { error in
                XCTAssertTrue("\(error)".contains("bad-\(tensor).safetensors: tensor '\(tensor)' holds \(shown) at element \(index) of "),
                              "\(error)")
            }
        }
        let good = try modelFile("good") { _ in }
        XCTAssertNoThrow(try ModelFile.load(from: good))
    }

    /// `skinlesion predict` says the same and exits 1.
    func testPredictRefusesANonFiniteModelFile() throws {
        let url = try modelFile("nan", edit: Self.poison("_fc.bias", at: 1, with: .nan))
        let result = try CommandLineTool.run(["predict", "--model", url.path, "--image", image().path],
                                             logs: directory.appendingPathComponent("predict"))
        XCTAssertFalse(result.signaled, result.stderr)
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("nan.safetensors: tensor '_fc.bias' holds nan at element 1 of 2"), result.stderr)
        XCTAssertEqual(result.stdout, "")
    }

    /// Every output weight near Float's largest value is finite, so the file loads; the logits
    /// overflow to infinity and softmax gives NaN, which must surface as an error naming the
    /// image, from the library and from the command line.
    func testOverflowingLogitsAreAnErrorNamingTheImage() throws {
        let url = try modelFile("overflow") { model in
            // The last BatchNorm's shift makes every pooled feature 3 (ReLU6 keeps it), so each
            // logit sums 1280 × 3 × 3e38.
            for (name, value) in [("_bn1.bias", Float(3)), ("_fc.weight", 3e38)] {
                let parameter = try XCTUnwrap(model.namedParameters.first { $0.name == name }?.parameter)
                try parameter.assign([Float](repeating: value, count: parameter.count))
            }
        }
        let predictor = try Predictor(modelFile: url)
        let image = try image()
        let logits = try predictor.logits([predictor.view(of: image)])
        XCTAssertTrue(logits.allSatisfy { $0 == .infinity }, "the fixture must overflow: \(logits)")
        XCTAssertThrowsError(try predictor.predict(image)) { error in
            XCTAssertTrue(error is NonFiniteProbabilityError, "\(error)")
            XCTAssertTrue("\(error)".hasPrefix("\(image.path): the model's probability of benign is NaN"), "\(error)")
        }
        let result = try CommandLineTool.run(["predict", "--model", url.path, "--image", image.path, "--json"],
                                             logs: directory.appendingPathComponent("overflow"))
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("lesion.png: the model's probability of benign is NaN"), result.stderr)
        XCTAssertFalse(result.stdout.lowercased().contains("nan"), result.stdout)
    }
}
