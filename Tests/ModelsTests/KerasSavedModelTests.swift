import Dermoscopy
import Foundation
@testable import Inference
@testable import Interop
@testable import Models
@testable import NeuralNet
import TestSupport
import XCTest

/// Models built and saved by pip keras itself (`tools/keras_models_reference.py`, PyTorch CPU
/// backend, installed by scripts/setup) import into model files whose predictions on real
/// HAM10000 images are Keras's: the same evaluation views (ours, shorter side to the input
/// size and centre crop) go into Keras as raw RGB, and Keras's probabilities must come back
/// within 1e-5 (absolute, max over images and classes) from `Predictor`, which applies the
/// imported preprocessing and input size as every consumer does.
final class KerasSavedModelTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try PythonReference.requireKeras()
        directory = try PythonReference.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    static let images = URL(fileURLWithPath: "../shared/data/ham10000-sample/HAM10000_images_part_1",
                            relativeTo: PythonReference.root).standardizedFileURL

    /// The first `count` real images and their evaluation views at `size`.
    private func realImages(size: Int, count: Int = 3) throws -> (urls: [URL], views: [RGBImage]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: Self.images.path) else {
            throw XCTSkip("no real images at \(Self.images.path) (../shared/data/ham10000-sample)")
        }
        let urls = names.filter { $0.hasSuffix(".jpg") }.sorted().prefix(count).map { Self.images.appendingPathComponent($0) }
        let pipeline = ImagePipeline(inputSize: size, normalization: .tf)
        var unused = SeededGenerator(seed: 0)
        let views = try urls.map { pipeline.view(of: try pipeline.decode($0, sourceSize: size), training: false, rng: &unused) }
        return (urls, views)
    }

    /// Keras builds `model` and writes its files and its outputs for `views` into the test directory.
    private func kerasOutputs(_ model: String, views: [RGBImage], metadata: [Float]? = nil) throws -> [Float] {
        let size = views[0].width
        let pixels = directory.appendingPathComponent("pixels.bin")
        try PythonReference.writeFloats(views.flatMap { $0.pixels.map(Float.init) }, to: pixels)
        var extra: [String] = []
        if let metadata {
            let url = directory.appendingPathComponent("metadata.bin")
            try PythonReference.writeFloats(metadata, to: url)
            extra = ["--metadata", url.path]
        }
        try PythonReference.run(["--model", model, "--pixels", pixels.path, "--shape", "\(views.count),\(size),\(size),3",
                                 "--output", directory.path] + extra,
                                script: PythonReference.root.appendingPathComponent("tools/keras_models_reference.py"))
        return try PythonReference.readFloats(directory.appendingPathComponent("outputs.bin"))
    }

    /// `skinlesion import`'s path: the Keras file into a model file, then a Predictor over it.
    private func importedPredictor(_ file: String, arch: String) throws -> (Predictor, KerasImporter.Result) {
        let result = try KerasImporter.load(directory.appendingPathComponent(file), architecture: Architectures.named(arch))
        let modelFile = directory.appendingPathComponent("\(file).safetensors")
        try ModelFile.save(result.model, metadata: ModelMetadata(
            architecture: arch, classNames: (0..<result.model.classes).map { "c\($0)" }, head: result.model.head,
            inputSize: result.inputSize, preprocessing: result.preprocessing), to: modelFile)
        return (try Predictor(modelFile: modelFile), result)
    }

    private func assertProbabilities(_ predictor: Predictor, _ images: (urls: [URL], views: [RGBImage]), _ expected: [Float],
                                     _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try predictor.view(of: images.urls[0]).pixels, images.views[0].pixels, "\(label): the same view",
                       file: file, line: line)
        let ours = try predictor.probabilities(images.views).flatMap { $0 }
        XCTAssertEqual(ours.count, expected.count, label, file: file, line: line)
        let difference = zip(ours, expected).map { abs($0 - Double($1)) }.max() ?? .infinity
        print("keras-saved \(label): max |Δp| \(difference), Keras top \(expected.chunked(predictor.model.classes).map(\.argmax))")
        XCTAssertLessThanOrEqual(difference, 1e-5, label, file: file, line: line)
        XCTAssertEqual(ours.chunked(predictor.model.classes).map(\.argmax), expected.chunked(predictor.model.classes).map(\.argmax),
                       "\(label): top-1", file: file, line: line)
    }

    /// Keras's ResNet50 (include_top=False) with the seed projects' head, GlobalAveragePooling2D
    /// → Dense(7, softmax), saved with `model.save` as `.h5` and `.keras`, at 224 with caffe
    /// preprocessing (Keras's own `preprocess_input` on its side).
    func testKerasResNet50WithSeedHeadGivesKerasProbabilities() throws {
        let images = try realImages(size: 224)
        let expected = try kerasOutputs("resnet50-seed", views: images.views)
        for file in ["model.h5", "model.keras"] {
            let (predictor, result) = try importedPredictor(file, arch: "resnet50-keras")
            XCTAssertTrue(result.headChecked, file)
            XCTAssertEqual(result.model.head, .linear, file)
            XCTAssertEqual(result.preprocessing, .caffe, file)
            XCTAssertEqual(result.inputSize, 224, file)
            try assertProbabilities(predictor, images, expected, "resnet50 seed head \(file)")
        }
    }

    /// Keras Applications' weight file layout (`resnet50_weights_tf_dim_ordering_tf_kernels.h5`,
    /// Keras 2 weights only, written by Keras's own legacy writer): the 1000 ImageNet logits.
    func testKerasApplicationsResNet50WeightsFileGivesKerasLogits() throws {
        let images = try realImages(size: 224, count: 2)
        let expected = try kerasOutputs("resnet50-top", views: images.views)
        let (predictor, result) = try importedPredictor("resnet50_weights_tf_dim_ordering_tf_kernels.h5", arch: "resnet50-keras")
        XCTAssertEqual(result.format, .keras2Weights)
        XCTAssertFalse(result.headChecked)
        XCTAssertEqual(result.model.classes, 1000)
        let logits = try predictor.logits(images.views)
        let error = relativeError(logits, expected)
        print("keras-saved resnet50 applications weights: logits relative error \(error)")
        XCTAssertLessThanOrEqual(error, 1e-5)

        // The _notop file: every layer is the backbone's, each array the one the full file gave
        // (a classifier needs a head, so `import` itself refuses it, saying why).
        let notop = try KerasWeightFile(contentsOf: directory.appendingPathComponent("resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"))
        let mapping = try XCTUnwrap(Architectures.named("resnet50-keras").kerasLayers).filter { $0.name != "predictions" }
        let matching = try KerasLayerMatching(file: notop, mapping: mapping)
        XCTAssertEqual(matching.pairs.count, 106)
        XCTAssertTrue(matching.unclaimed.isEmpty)
        let ours = Dictionary(uniqueKeysWithValues: result.model.namedParameters.map { ($0.name, $0.parameter.values) })
        for (keras, layer) in matching.pairs {
            for (array, weight) in zip(keras.arrays, layer.weights) {
                XCTAssertEqual(weight.layout.ourValues(fromKeras: array.values, shape: array.shape), ours[weight.name], weight.name)
            }
        }
        XCTAssertThrowsError(try KerasImporter.convert(notop, architecture: Architectures.named("resnet50-keras"))) { error in
            XCTAssertTrue("\(error)".contains("no classifier"), "\(error)")
        }
    }

    /// Rescaling(1/255) and an adapted Normalization (mean, variance and int64 count stored as
    /// weights) in front of a nested Xception at 100×100, and a head of GlobalMaxPooling2D,
    /// Dropout, Dense(relu), BatchNormalization(ε 1e-4), Dense, ReLU, Dropout, Dense, Softmax:
    /// the preprocessing layers become the model's preprocessing, 100 its input size. The
    /// weights alone (`model.weights.h5`) cannot say where the Normalization sits: refused.
    func testRescalingAndNormalizationLayersBecomeThePreprocessing() throws {
        let images = try realImages(size: 100)
        let expected = try kerasOutputs("preprocessing", views: images.views)
        for file in ["model.keras", "model.h5"] {
            let (predictor, result) = try importedPredictor(file, arch: "xception")
            XCTAssertEqual(result.inputSize, 100, file)
            XCTAssertTrue(result.inputSizeFromFile, file)
            XCTAssertEqual(result.preprocessing.mode, "perChannel", file)
            XCTAssertEqual(result.model.head, .sequence(pooling: .max, layers: [
                .dropout(rate: 0.2), .dense(units: 48), .activation(.relu), .batchNorm, .dense(units: 24), .activation(.relu),
                .dropout(rate: 0.3)]), file)
            try assertProbabilities(predictor, images, expected, "xception preprocessing \(file)")
        }
        XCTAssertThrowsError(try KerasImporter.load(directory.appendingPathComponent("model.weights.h5"),
                                                    architecture: Architectures.named("xception"))) { error in
            XCTAssertTrue("\(error)".contains("Keras layer 'normalization'"), "\(error)")
            XCTAssertTrue("\(error)".contains("it looks like a Normalization layer"), "\(error)")
        }
    }

    /// The silent drop issue #10 found: a Normalization layer (mean and variance given to its
    /// constructor, so only the configuration holds them) in front of a nested DenseNet121
    /// with `pooling="avg"`, at 96×96. Imported, it is honoured; the architecture's own
    /// preprocessing in its place (what dropping it meant) misses Keras by far.
    func testNormalizationLayerIsHonouredNotDropped() throws {
        let images = try realImages(size: 96)
        let expected = try kerasOutputs("normalization-only", views: images.views)
        let (predictor, result) = try importedPredictor("model.keras", arch: "densenet121")
        XCTAssertEqual(result.inputSize, 96)
        XCTAssertEqual(result.model.head, .linear)
        // (x − 180) / 30 for red: mean 180/255, std 30/255.
        XCTAssertEqual(result.preprocessing.mean[0], 180 / 255, accuracy: 1e-6)
        XCTAssertEqual(result.preprocessing.std[0], 30 / 255, accuracy: 1e-6)
        try assertProbabilities(predictor, images, expected, "densenet121 normalization")

        let dropped = directory.appendingPathComponent("dropped.safetensors")
        try ModelFile.save(result.model, metadata: ModelMetadata(
            architecture: "densenet121", classNames: (0..<7).map { "c\($0)" }, head: result.model.head, inputSize: 96,
            preprocessing: Architectures.named("densenet121").preprocessing), to: dropped)
        let wrong = try Predictor(modelFile: dropped).probabilities(images.views).flatMap { $0 }
        let miss = zip(wrong, expected).map { abs($0 - Double($1)) }.max()!
        print("keras-saved densenet121 with the Normalization dropped: max |Δp| \(miss)")
        XCTAssertGreaterThan(miss, 1e-3, "dropping the layer must be visible, or this test proves nothing")
    }
}

extension KerasSavedModelTests {
    /// HAM10000's own metadata of each image (age, sex, localization), by image id.
    private func hamMetadata(_ urls: [URL]) throws -> [[String: String]] {
        let csv = try String(contentsOf: Self.images.deletingLastPathComponent().appendingPathComponent("HAM10000_metadata.csv"),
                             encoding: .utf8)
        // Lines may end in "\r\n", which Swift reads as one Character: split on both.
        let rows = csv.components(separatedBy: .newlines).filter { !$0.isEmpty }
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = rows[0]
        let byImage = Dictionary(rows.dropFirst().map { (row: [String]) in
            (row[header.firstIndex(of: "image_id")!], Dictionary(uniqueKeysWithValues: zip(header, row)))
        }, uniquingKeysWith: { a, _ in a })
        return try urls.map { try XCTUnwrap(byImage[$0.deletingPathExtension().lastPathComponent]) }
    }

    /// A two-input Keras model, image and encoded metadata (age, sex, site of real HAM10000
    /// rows through a MetadataSpec), whose metadata branch Dense → BatchNormalization → ReLU
    /// → Dropout is concatenated after the pooled image features: it maps onto the fusion
    /// head (`meta.*`), the spec goes into the model file, and Keras's probabilities come
    /// back. Without a spec it is refused, saying so.
    func testImageAndMetadataModelMapsOntoTheFusionHead() throws {
        let images = try realImages(size: 64)
        let spec = try MetadataSpec(features: [
            MetadataFeature(name: "age", column: "age", numeric: NumericEncoding(scale: 0.05, shift: -2.5)),
            MetadataFeature(name: "sex", column: "sex", categorical: CategoricalEncoding(categories: ["male", "female"])),
            MetadataFeature(name: "site", column: "localization", categorical: CategoricalEncoding(
                categories: ["trunk", "lower extremity", "upper extremity", "back", "abdomen", "face", "scalp"])),
        ])
        let vectors = try hamMetadata(images.urls).map { try spec.encode($0).vector }
        let expected = try kerasOutputs("metadata", views: images.views, metadata: vectors.flatMap { $0 })
        for file in ["model.keras", "model.h5"] {
            let url = directory.appendingPathComponent(file)
            XCTAssertThrowsError(try KerasImporter.load(url, architecture: Architectures.named("resnet50-keras"))) { error in
                XCTAssertTrue("\(error)".contains("second input 'metadata' (\(spec.width) values)"), "\(error)")
                XCTAssertTrue("\(error)".contains("--metadata-spec FILE"), "\(error)")
            }
            let result = try KerasImporter.load(url, architecture: Architectures.named("resnet50-keras"), metadataInputs: spec.width)
            XCTAssertEqual(result.model.fusion, MetadataFusion(inputs: spec.width, hidden: [16], dropout: 0.3), file)
            XCTAssertEqual(result.model.head, .mlp(hidden: [32], dropout: 0.4), file)
            XCTAssertEqual(result.inputSize, 64, file)
            var metadata = ModelMetadata(architecture: "resnet50-keras", classNames: (0..<7).map { "c\($0)" }, head: result.model.head,
                                         inputSize: result.inputSize, preprocessing: result.preprocessing)
            (metadata.metadataSpec, metadata.fusion) = (spec, result.model.fusion)
            let modelFile = directory.appendingPathComponent("\(file).safetensors")
            try ModelFile.save(result.model, metadata: metadata, to: modelFile)
            let (model, loaded) = try ModelFile.load(from: modelFile)
            XCTAssertEqual(loaded.metadataSpec, spec)
            let normalization = try loaded.preprocessing.normalization(source: file)
            let plane = 3 * 64 * 64
            var pixels = [Float](repeating: 0, count: images.views.count * plane)
            pixels.withUnsafeMutableBufferPointer { buffer in
                for (i, view) in images.views.enumerated() { normalization.write(view, to: buffer.baseAddress! + i * plane) }
            }
            try model.setMetadata(Tensor(shape: [vectors.count, spec.width], values: vectors.flatMap { $0 }))
            let logits = try model.forward(Tensor(shape: [images.views.count, 3, 64, 64], values: pixels), mode: .inference).toArray()
            let probabilities = logits.chunked(7).flatMap { row -> [Double] in
                let e = row.map { Foundation.exp(Double($0 - row.max()!)) }
                return e.map { $0 / e.reduce(0, +) }
            }
            let difference = zip(probabilities, expected).map { abs($0 - Double($1)) }.max()!
            print("keras-saved resnet50 image + metadata \(file): max |Δp| \(difference)")
            XCTAssertLessThanOrEqual(difference, 1e-5, file)
        }
    }
}

private extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

private extension ArraySlice where Element: Comparable {
    var argmax: Int { indices.max { self[$0] < self[$1] }! - startIndex }
}
