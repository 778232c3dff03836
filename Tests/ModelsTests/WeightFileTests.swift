import Foundation
import XCTest
@testable import Inference
@testable import Models
@testable import NeuralNet

final class WeightFileTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("skinlesion-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testModelFileRoundTripsWeightsMetadataAndPredictions() throws {
        let model = try Architectures.named("resnet50").build(classes: 7, seed: 4)
        try randomizeBatchNorms(model, seed: 2)
        let classes = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
        let url = directory.appendingPathComponent("model.safetensors")
        try ModelFile.save(model, classNames: classes, to: url)
        let (loaded, metadata) = try ModelFile.load(from: url)
        XCTAssertEqual(metadata.architecture, "resnet50")
        XCTAssertEqual(metadata.classNames, classes)
        XCTAssertEqual(metadata.inputSize, 224)
        XCTAssertEqual(metadata.preprocessing, .imagenet)
        XCTAssertEqual(metadata.preprocessing.mode, "torchvision", "names the loader's Normalization case")
        XCTAssertEqual(metadata.head, .standard)
        XCTAssertEqual(metadata.formatVersion, 1)
        XCTAssertTrue(metadata.intendedUse.contains("not medical devices"))
        for ((name, a), (_, b)) in zip(model.namedParameters, loaded.namedParameters) {
            XCTAssertEqual(a.values, b.values, name)
        }
        let x = try Tensor(shape: [1, 3, 64, 64], values: (0..<(3 * 64 * 64)).map { Float($0 % 29) / 29 })
        XCTAssertEqual(try model.forward(x, mode: .inference).toArray(), try loaded.forward(x, mode: .inference).toArray())
    }

    func testMismatchedWeightsListEveryProblemAtOnce() throws {
        let source = try Architectures.named("resnet50").build(classes: 1000, head: .linear)
        var writer = SafeTensorsWriter()
        for (name, p) in source.namedParameters where name != "layer2.1.conv1.weight" && name != "bn1.running_mean" {
            if name == "layer3.0.conv2.weight" {
                try writer.add(name, shape: [256, 256, 1, 1], floats: [Float](repeating: 0, count: 65536))
            } else if p.kind != .counter {
                try writer.add(name, shape: p.shape, floats: p.values)
            }
        }
        try writer.add("extra.weight", shape: [1], floats: [0])
        let url = directory.appendingPathComponent("torchvision.safetensors")
        try writer.write(to: url)
        let target = try Architectures.named("resnet50").build(classes: 1000, head: .linear)
        XCTAssertThrowsError(try target.load(from: SafeTensorsFile(contentsOf: url))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("torchvision.safetensors does not fit the model"), message)
            XCTAssertTrue(message.contains("missing (2): bn1.running_mean, layer2.1.conv1.weight"), message)
            XCTAssertTrue(message.contains("unexpected (1): extra.weight"), message)
            XCTAssertTrue(message.contains("layer3.0.conv2.weight expected [256, 256, 3, 3] found [256, 256, 1, 1]"), message)
            XCTAssertFalse(message.contains("num_batches_tracked"), "timm files omit counters; that is not an error")
        }
    }

    /// ImageNet weights (1000-class fc) into a 7-class model with a new head: the backbone
    /// loads, the head keeps its initialisation.
    func testTorchvisionImportIntoNewHead() throws {
        let imagenet = try Architectures.named("resnet50").build(classes: 1000, head: .linear, seed: 9)
        var writer = SafeTensorsWriter()
        try imagenet.save(into: &writer)
        let url = directory.appendingPathComponent("resnet50-imagenet.safetensors")
        try writer.write(to: url)
        let model = try Architectures.named("resnet50").build(classes: 7, seed: 1)
        let headBefore = model.namedParameters.first { $0.name == "fc.4.weight" }!.parameter.values
        try model.load(from: SafeTensorsFile(contentsOf: url), skipping: ["fc"])
        let source = Dictionary(uniqueKeysWithValues: imagenet.namedParameters.map { ($0.name, $0.parameter.values) })
        for (name, p) in model.namedParameters where !name.hasPrefix("fc") {
            XCTAssertEqual(p.values, source[name], name)
        }
        XCTAssertEqual(model.namedParameters.first { $0.name == "fc.4.weight" }!.parameter.values, headBefore)
    }

    func testModelFileErrorsNameTheFile() throws {
        var writer = SafeTensorsWriter()
        try writer.add("x", shape: [1], floats: [1])
        let url = directory.appendingPathComponent("plain.safetensors")
        try writer.write(to: url)
        XCTAssertThrowsError(try ModelFile.load(from: url)) {
            XCTAssertTrue("\($0)".contains("plain.safetensors: no 'skinlesion' metadata"), "\($0)")
        }
        writer.metadata["skinlesion"] = #"{"formatVersion": 99}"#
        try writer.write(to: url)
        XCTAssertThrowsError(try ModelFile.load(from: url)) {
            XCTAssertTrue("\($0)".contains("plain.safetensors: metadata 'skinlesion' is not valid"), "\($0)")
        }
        let model = try Architectures.named("resnet50").build(classes: 2)
        XCTAssertThrowsError(try ModelFile.save(model, classNames: ["a"], to: url)) {
            XCTAssertTrue("\($0)".contains("1 class names given for a 2-class model"), "\($0)")
        }
    }
}
