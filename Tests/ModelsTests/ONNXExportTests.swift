import Dermoscopy
import Foundation
import XCTest
@testable import Inference
@testable import Interop
@testable import Models
@testable import NeuralNet
import TestSupport

/// `skinlesion export`: every architecture, written as ONNX, computes in ONNX Runtime what it
/// computes here, at batch 1 and batch 3 from one file (the batch is symbolic).
final class ONNXExportTests: XCTestCase {
    /// The smallest input each architecture takes (VGG19's fully connected top needs 224),
    /// so the whole registry runs in CI in seconds; a new architecture runs at its own size.
    static let testSizes = ["resnet50": 64, "resnet50-keras": 64, "efficientnet-lite0": 64, "efficientnet-lite1": 64,
                            "efficientnet-lite2": 64, "vgg19-notop": 32, "resnet50v2": 64, "densenet121": 64, "inceptionv3": 75,
                            "xception": 71]
    static let tolerance: Float = 1e-5

    var directory: URL!

    override func setUpWithError() throws {
        try PythonReference.requireVenv()
        directory = try PythonReference.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    func testEveryArchitectureMatchesOnnxRuntimeAtBatchOneAndThree() throws {
        for (index, architecture) in Architectures.all.enumerated() {
            let size = Self.testSizes[architecture.name] ?? architecture.inputSize
            // Both head kinds: the ImageNet linear one, and the MLP with BatchNorm1d and dropout.
            let head = index % 2 == 0 ? HeadConfig.mlp(hidden: [24, 16], dropout: 0.3) : .linear
            try checkAgainstOnnxRuntime(architecture, head: head, size: size, seed: UInt64(index + 1))
        }
    }

    /// The heads Keras models import as (`HeadConfig.sequence`): global max or average
    /// pooling, then any chain of layers, with every activation a head may hold.
    func testSequenceHeadsWithMaxPoolingAndEveryActivationMatchOnnxRuntime() throws {
        let architecture = try Architectures.named("efficientnet-lite0")
        for (index, kind) in Activation.Kind.allCases.enumerated() {
            let head = HeadConfig.sequence(pooling: index % 2 == 0 ? .max : .average,
                                           layers: [.dropout(rate: 0.2), .dense(units: 16), .activation(kind), .batchNorm,
                                                    .dense(units: 12), .activation(kind)])
            try checkAgainstOnnxRuntime(architecture, head: head, size: 64, seed: UInt64(index + 60))
        }
    }

    private func checkAgainstOnnxRuntime(_ architecture: Architecture, head: HeadConfig, size: Int, seed: UInt64) throws {
        let model = try architecture.build(classes: 5, head: head, seed: seed)
        try randomizeBatchNorms(model, seed: seed &+ 40)
        var rng = SeededGenerator(seed: seed &+ 100)
        let batches = try [1, 3].map { batch in
            let pixels = (0..<(batch * 3 * size * size)).map { _ in rng.nextNormal() }
            return (batch, pixels, try model.forward(Tensor(shape: [batch, 3, size, size], values: pixels), mode: .inference).toArray())
        }
        // A temperature that keeps the softmax away from 0 and 1, so the probabilities say something.
        let temperature = calibratingTemperature(batches.flatMap(\.2))
        let file = directory.appendingPathComponent("\(architecture.name).onnx")
        let options = ONNXExportOptions(inputSize: size, classNames: (0..<5).map { "c\($0)" }, temperature: temperature,
                                        preprocessing: architecture.preprocessing, producerVersion: "test", doc: "test")
        try ONNXExporter.write(model, options: options, to: file)

        let cases = batches.map { ONNXRuntimeCheck.Case(tag: "b\($0.0)", inputs: ["image": ($0.1, [$0.0, 3, size, size])]) }
        let (report, outputs) = try ONNXRuntimeCheck.run(file, cases, in: directory)

        XCTAssertEqual(report.inputs["image"], [.symbol("batch"), .value(3), .value(size), .value(size)], architecture.name)
        XCTAssertEqual(report.outputs["logits"], [.symbol("batch"), .value(5)], architecture.name)
        XCTAssertEqual(report.outputs["probabilities"], [.symbol("batch"), .value(5)], architecture.name)
        XCTAssertEqual(report.opsets["ai.onnx"], ONNXExportOptions.defaultOpset)
        XCTAssertEqual(report.ir_version, 8)
        XCTAssertEqual(report.metadata["skinlesion.architecture"], architecture.name)
        // No Pad node for another tool's Pad-into-pool fusion to fold into a max pool's padding,
        // where the zeros would stop winning windows of negative values (ResNet50V2's stem).
        XCTAssertNil(report.ops["Pad"], "\(architecture.name): \(report.ops)")
        for (batch, _, logits) in batches {
            let probabilities = softmaxRows(logits, classes: 5, temperature: temperature)
            XCTAssertLessThan(probabilities.max()!, 0.999, "\(architecture.name): a saturated softmax compares nothing")
            let theirs = try XCTUnwrap(outputs["b\(batch)"])
            XCTAssertGreaterThan(logits.map(abs).max()!, 1e-3, "\(architecture.name): logits must not vanish")
            let logitError = relativeError(theirs["logits"] ?? [], logits)
            let probabilityError = relativeError(theirs["probabilities"] ?? [], probabilities)
            print("onnx export \(architecture.name) \(batch)×3×\(size)×\(size) head \(head): logits \(logitError), "
                  + "probabilities \(probabilityError); ops \(report.ops.values.reduce(0, +))")
            XCTAssertLessThanOrEqual(logitError, Self.tolerance, "\(architecture.name) batch \(batch) logits")
            XCTAssertLessThanOrEqual(probabilityError, Self.tolerance, "\(architecture.name) batch \(batch) probabilities")
        }
        try FileManager.default.removeItem(at: file)
    }

    /// A metadata-fusion model has two inputs, `image` and `metadata`, both with the symbolic
    /// batch; the branch, the concatenation and the MLP head match ours.
    func testMetadataFusionModelTakesImageAndMetadata() throws {
        let fusion = MetadataFusion(inputs: 6, hidden: [8, 4], dropout: 0.2)
        let model = try Architectures.named("resnet50").build(classes: 3, head: .standard, fusion: fusion, seed: 2)
        try randomizeBatchNorms(model, seed: 3)
        let file = directory.appendingPathComponent("fusion.onnx")
        var options = ONNXExportOptions(inputSize: 64, classNames: ["a", "b", "c"], temperature: 1.3, preprocessing: .imagenet,
                                        producerVersion: "test", doc: "")
        options.metadataSpec = #"{"features":[]}"#
        try ONNXExporter.write(model, options: options, to: file)
        var rng = SeededGenerator(seed: 8)
        let batches = [1, 3].map { batch in
            (batch, (0..<(batch * 3 * 64 * 64)).map { _ in rng.nextNormal() }, (0..<(batch * 6)).map { _ in rng.nextNormal() })
        }
        let cases = batches.map {
            ONNXRuntimeCheck.Case(tag: "b\($0.0)", inputs: ["image": ($0.1, [$0.0, 3, 64, 64]), "metadata": ($0.2, [$0.0, 6])])
        }
        let (report, outputs) = try ONNXRuntimeCheck.run(file, cases, in: directory)
        XCTAssertEqual(report.inputs["metadata"], [.symbol("batch"), .value(6)])
        XCTAssertEqual(report.inputs["image"], [.symbol("batch"), .value(3), .value(64), .value(64)])
        XCTAssertEqual(report.metadata["skinlesion.metadata_spec"], options.metadataSpec)
        for (batch, pixels, metadata) in batches {
            try model.setMetadata(Tensor(shape: [batch, 6], values: metadata))
            let logits = try model.forward(Tensor(shape: [batch, 3, 64, 64], values: pixels), mode: .inference).toArray()
            assertMatch(outputs["b\(batch)"], logits: logits, probabilities: softmaxRows(logits, classes: 3, temperature: 1.3),
                        "resnet50 + metadata fusion batch \(batch)")
        }
    }

    /// `--with-preprocessing` on real HAM10000 images: the graph takes the evaluation view's
    /// 0–255 RGB pixels and gives what `Predictor` (lookup-table normalization, the model's own
    /// input size, calibrated softmax) gives, for each of the five normalizations.
    func testPreprocessingInTheGraphMatchesThePredictorOnRealImages() throws {
        let dataset = try Self.hamSample()
        let images = dataset.records.prefix(2).map { dataset.url(of: $0) }
        let byMode: [(Normalization, String)] = [(.torchvision, "resnet50"), (.tfLite, "efficientnet-lite0"),
                                                 (.caffe, "vgg19-notop"), (.tf, "resnet50v2"), (.kerasTorch, "densenet121")]
        for (mode, name) in byMode {
            let architecture = try Architectures.named(name)
            XCTAssertEqual(architecture.preprocessing.mode, mode.rawValue)
            let model = try architecture.build(classes: 3, head: .standard, seed: 9)
            try randomizeBatchNorms(model, seed: 10)
            var metadata = ModelMetadata(architecture: name, classNames: ["a", "b", "c"], head: model.head, inputSize: 96,
                                         preprocessing: architecture.preprocessing)
            let modelFile = directory.appendingPathComponent("\(name).safetensors")
            try ModelFile.save(model, metadata: metadata, to: modelFile)
            let views = try images.map { try Predictor(modelFile: modelFile).view(of: $0) }
            // Not saturated: the output layer is scaled down so that a temperature inside the model
            // file's limits (as `skinlesion calibrate` would store it) brings the logit gap to about 3.
            let needed = calibratingTemperature(try Predictor(modelFile: modelFile).logits(views))
            let output = model.namedParameters.suffix(2).map(\.parameter)
            for p in output { try p.assign(p.values.map { $0 * 1.5 / needed }) }
            metadata.temperature = 1.5
            try ModelFile.save(model, metadata: metadata, to: modelFile)
            let predictor = try Predictor(modelFile: modelFile)

            let onnxFile = directory.appendingPathComponent("\(name).onnx")
            let options = ONNXExportOptions(inputSize: 96, classNames: metadata.classNames, temperature: metadata.temperature,
                                            preprocessing: metadata.preprocessing, includesPreprocessing: true,
                                            producerVersion: "test", doc: metadata.intendedUse)
            try ONNXExporter.write(predictor.model, options: options, to: onnxFile)
            let (_, outputs) = try ONNXRuntimeCheck.run(onnxFile, [ONNXRuntimeCheck.Case(tag: "real", inputs: [
                "image": (Self.planarRGB(views), [views.count, 3, 96, 96]),
            ])], in: directory)
            let ours = (logits: try predictor.logits(views), probabilities: try predictor.probabilities(views).flatMap { $0.map(Float.init) })
            XCTAssertLessThan(ours.probabilities.max()!, 0.999, "\(mode.rawValue): a saturated softmax compares nothing")
            assertMatch(outputs["real"], logits: ours.logits, probabilities: ours.probabilities,
                        "with \(mode.rawValue) preprocessing (\(name), 2 HAM10000 images at 96²)")
        }
    }

    /// A metadata-fusion model with a spec derived from real HAM10000 rows (age, sex, site),
    /// exported with preprocessing: real images and their rows encoded by the spec give what
    /// `Predictor` gives for the same images and rows.
    func testMetadataFusionMatchesThePredictorOnRealImagesAndRows() throws {
        let dataset = try Self.hamSample()
        let spec = try MetadataSpecBuilder.derive(names: ["age", "sex", "site"], from: dataset.records)
        let records = Array(dataset.records.prefix(3))
        let architecture = try Architectures.named("resnet50")
        let model = try architecture.build(classes: 3, head: .standard, fusion: MetadataFusion(inputs: spec.width), seed: 12)
        try randomizeBatchNorms(model, seed: 13)
        var metadata = ModelMetadata(architecture: architecture.name, classNames: ["a", "b", "c"], head: model.head, inputSize: 96,
                                     preprocessing: architecture.preprocessing)
        (metadata.metadataSpec, metadata.fusion) = (spec, model.fusion)
        let modelFile = directory.appendingPathComponent("fusion.safetensors")
        try ModelFile.save(model, metadata: metadata, to: modelFile)
        let predictor = try Predictor(modelFile: modelFile)
        let views = try records.map { try predictor.view(of: dataset.url(of: $0)) }
        let vectors = try records.map { try predictor.encodeMetadata($0.metadata).vector }

        let onnxFile = directory.appendingPathComponent("fusion.onnx")
        var options = ONNXExportOptions(inputSize: 96, classNames: metadata.classNames, preprocessing: metadata.preprocessing,
                                        includesPreprocessing: true, producerVersion: "test", doc: metadata.intendedUse)
        options.metadataSpec = String(decoding: try spec.encoded(), as: UTF8.self)
        try ONNXExporter.write(predictor.model, options: options, to: onnxFile)
        let (report, outputs) = try ONNXRuntimeCheck.run(onnxFile, [ONNXRuntimeCheck.Case(tag: "real", inputs: [
            "image": (Self.planarRGB(views), [views.count, 3, 96, 96]), "metadata": (vectors.flatMap { $0 }, [views.count, spec.width]),
        ])], in: directory)
        XCTAssertEqual(try MetadataSpec.decode(Data((report.metadata["skinlesion.metadata_spec"] ?? "").utf8), file: "onnx"), spec)
        let ours = (logits: try predictor.logits(views, metadata: vectors),
                    probabilities: try predictor.probabilities(views, metadata: vectors).flatMap { $0.map(Float.init) })
        XCTAssertLessThan(ours.probabilities.max()!, 0.999, "a saturated softmax compares nothing")
        assertMatch(outputs["real"], logits: ours.logits, probabilities: ours.probabilities,
                    "resnet50 + metadata fusion (\(spec.names), width \(spec.width)), 3 HAM10000 images and rows at 96²")
    }

    /// ONNX Runtime's `logits` and `probabilities` against ours, within the tolerance.
    private func assertMatch(_ theirs: [String: [Float]]?, logits: [Float], probabilities: [Float], _ label: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        guard let theirLogits = theirs?["logits"], let theirProbabilities = theirs?["probabilities"],
              theirLogits.count == logits.count, theirProbabilities.count == probabilities.count else {
            XCTFail("\(label): ONNX Runtime gave \(theirs?.mapValues(\.count) ?? [:]) values, expected \(logits.count) of each",
                    file: file, line: line)
            return
        }
        let logitError = relativeError(theirLogits, logits)
        let probabilityError = relativeError(theirProbabilities, probabilities)
        print("onnx export \(label): logits \(logitError), probabilities \(probabilityError)")
        XCTAssertLessThanOrEqual(logitError, Self.tolerance, "\(label) logits", file: file, line: line)
        XCTAssertLessThanOrEqual(probabilityError, Self.tolerance, "\(label) probabilities", file: file, line: line)
    }

    /// The real HAM10000 sample in ../shared, or a skip saying where it was looked for.
    static func hamSample() throws -> Dataset {
        let sample = PythonReference.root.deletingLastPathComponent().appendingPathComponent("shared/data/ham10000-sample")
        guard FileManager.default.fileExists(atPath: sample.appendingPathComponent("HAM10000_metadata.csv").path) else {
            throw XCTSkip("real HAM10000 sample not found at \(sample.path) (see ../shared/data/README.md)")
        }
        return try DatasetLoader.load(sample)
    }

    /// Images as float NCHW planes of 0–255 RGB, the input of a graph with preprocessing.
    static func planarRGB(_ views: [RGBImage]) -> [Float] {
        views.flatMap { view in
            (0..<3).flatMap { channel in stride(from: channel, to: view.pixels.count, by: 3).map { Float(view.pixels[$0]) } }
        }
    }

    /// The oldest and newest operator sets offered give the same answers, each file with the
    /// IR version its operator set came with.
    func testOldestAndNewestOpsetsRunInOnnxRuntime() throws {
        let model = try Architectures.named("efficientnet-lite0").build(classes: 4, head: .standard, seed: 3)
        try randomizeBatchNorms(model, seed: 4)
        var rng = SeededGenerator(seed: 5)
        let pixels = (0..<(2 * 3 * 48 * 48)).map { _ in rng.nextNormal() }
        let logits = try model.forward(Tensor(shape: [2, 3, 48, 48], values: pixels), mode: .inference).toArray()
        for (opset, irVersion) in [(ONNXExportOptions.supportedOpsets.lowerBound, 7), (ONNXExportOptions.supportedOpsets.upperBound, 11)] {
            let file = directory.appendingPathComponent("opset\(opset).onnx")
            let options = ONNXExportOptions(inputSize: 48, classNames: ["a", "b", "c", "d"], preprocessing: .tfLite, opset: opset,
                                            producerVersion: "test", doc: "")
            try ONNXExporter.write(model, options: options, to: file)
            let (report, outputs) = try ONNXRuntimeCheck.run(
                file, [ONNXRuntimeCheck.Case(tag: "x", inputs: ["image": (pixels, [2, 3, 48, 48])])], in: directory)
            XCTAssertEqual(report.opsets["ai.onnx"], opset)
            XCTAssertEqual(report.ir_version, irVersion)
            assertMatch(outputs["x"], logits: logits, probabilities: softmaxRows(logits, classes: 4, temperature: 1),
                        "efficientnet-lite0 2×3×48×48, opset \(opset)")
        }
    }
}

/// A softmax temperature that brings the largest logit gap down to about 3, so probabilities
/// compared in a test are neither 0 nor 1 (randomly initialised networks can have huge logits).
func calibratingTemperature(_ logits: [Float]) -> Float {
    max(1, (logits.map(abs).max() ?? 0) / 1.5)
}
