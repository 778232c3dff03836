import Foundation
@testable import Inference
@testable import Interop
@testable import Models
@testable import NeuralNet
import TestSupport
import XCTest

/// Keras files written by `tools/keras_files.py` (h5py, in the layouts Keras 2 and 3 write)
/// from our random-weight models import back to every tensor exactly and to the same logits.
final class KerasImportTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try PythonReference.temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Every parameter of `imported` equals `original`'s bit for bit, except a head
    /// BatchNorm's variance, which travels as Keras's (ε 1e-3) and comes back within rounding.
    func assertSameTensors(_ imported: Classifier, _ original: Classifier, _ label: String) {
        let theirs = Dictionary(uniqueKeysWithValues: imported.namedParameters.map { ($0.name, $0.parameter.values) })
        var compared = 0
        for (name, parameter) in original.namedParameters where parameter.kind != .counter {
            guard let values = theirs[name] else { XCTFail("\(label): \(name) missing"); continue }
            if name.hasPrefix(original.architecture.headName + "."), name.hasSuffix("running_var") {
                XCTAssertLessThanOrEqual(relativeError(values, parameter.values), 1e-6, "\(label): \(name)")
            } else {
                XCTAssertEqual(values, parameter.values, "\(label): \(name)")
            }
            compared += 1
        }
        XCTAssertEqual(compared, theirs.count - imported.namedParameters.filter { $0.parameter.kind == .counter }.count)
    }

    /// DenseNet121 (the smallest Keras backbone) under a user's head, in all four layouts:
    /// Keras 2 with its `conv1/conv` spelling and the backbone nested in one model group, a
    /// Keras 2 saved model, Keras 3 nested weights and a `.keras` archive. Tensors exact,
    /// logits within 1e-6 relative. The saved models' configurations give the dropout rate
    /// and are checked; weights-only files assume SkinLesion's head and its default rate.
    func testUserHeadOnDenseNetRoundTripsInEveryLayout() throws {
        let model = try Architectures.named("densenet121").build(classes: 3, head: .mlp(hidden: [16], dropout: 0.3), seed: 11)
        try randomizeBatchNorms(model, seed: 12)
        let x = try Tensor(shape: [2, 3, 64, 64], values: randomValues(2 * 3 * 64 * 64, seed: 13))
        let expected = try model.forward(x, mode: .inference).toArray()
        for (layout, options) in [(KerasFileWriter.Layout.keras2Weights, ["--keras2-names", "--nest", "densenet121"]),
                                  (.keras2Model, ["--keras2-names"]), (.keras3Weights, ["--nest", "densenet121"]),
                                  (.keras3Archive, [])] {
            let url = try KerasFileWriter.write(model, layout: layout, in: directory, options: options)
            let result = try KerasImporter.load(url, architecture: model.architecture)
            XCTAssertEqual(result.model.head, .mlp(hidden: [16], dropout: layout.hasConfig ? 0.3 : HeadConfig.standardDropout),
                           layout.rawValue)
            XCTAssertEqual(result.headChecked, layout.hasConfig, layout.rawValue)
            XCTAssertEqual(result.model.classes, 3)
            assertSameTensors(result.model, model, layout.rawValue)
            let logits = try result.model.forward(x, mode: .inference).toArray()
            XCTAssertLessThanOrEqual(relativeError(logits, expected), 1e-6, layout.rawValue)
        }
    }

    /// InceptionV3's automatically named layers: Keras 2 counts from `conv2d_1`, and a Keras 3
    /// session that built another model first continues from `conv2d_95`; both pair with our
    /// units in creation order. Keras Applications' `predictions` becomes the linear head.
    func testInceptionV3AutomaticNamesMatchByCreationOrder() throws {
        let model = try Architectures.named("inceptionv3").build(classes: 10, head: .linear, seed: 21)
        try randomizeBatchNorms(model, seed: 22)
        for (layout, options) in [(KerasFileWriter.Layout.keras2Weights, ["--keras2-names"]),
                                  (.keras3Weights, ["--counter-offset", "94"])] {
            let url = try KerasFileWriter.write(model, layout: layout, in: directory, options: options)
            let result = try KerasImporter.load(url, architecture: model.architecture)
            XCTAssertEqual(result.model.head, .linear)
            assertSameTensors(result.model, model, layout.rawValue)
        }
    }

    /// Xception's separable convolutions: depthwise (kh, kw, in, 1) and pointwise kernels.
    func testXceptionSeparableKernelsFromKerasArchive() throws {
        let model = try Architectures.named("xception").build(classes: 4, head: .linear, seed: 31)
        try randomizeBatchNorms(model, seed: 32)
        let url = try KerasFileWriter.write(model, layout: .keras3Archive, in: directory)
        let result = try KerasImporter.load(url, architecture: model.architecture)
        XCTAssertEqual(result.format, .keras3Archive)
        assertSameTensors(result.model, model, "xception")
    }

    func testNonHDF5FileIsNamedInTheError() throws {
        let url = directory.appendingPathComponent("notes.h5")
        try Data("not hdf5 at all".utf8).write(to: url)
        XCTAssertThrowsError(try KerasImporter.load(url, architecture: Architectures.named("densenet121"))) { error in
            XCTAssertTrue("\(error)".hasPrefix("notes.h5: not an HDF5 file"), "\(error)")
        }
        let zip = directory.appendingPathComponent("broken.keras")
        try Data([0x50, 0x4B, 0x03, 0x04, 0, 0]).write(to: zip)
        XCTAssertThrowsError(try KerasImporter.load(zip, architecture: Architectures.named("densenet121"))) { error in
            XCTAssertTrue("\(error)".hasPrefix("broken.keras: zip:"), "\(error)")
        }
    }

    func testMissingLayerAndWrongShapeNameTheKerasLayer() throws {
        let model = try Architectures.named("densenet121").build(classes: 3, head: .linear, seed: 41)
        let missing = try KerasFileWriter.write(model, layout: .keras3Weights, in: directory,
                                                options: ["--drop", "conv3_block2_1_conv"])
        XCTAssertThrowsError(try KerasImporter.load(missing, architecture: model.architecture)) { error in
            XCTAssertTrue("\(error)".contains("no Keras layer 'conv3_block2_1_conv'"), "\(error)")
            XCTAssertTrue("\(error)".contains("features.denseblock2.denselayer2.conv1.weight"), "\(error)")
        }
        let wrong = try KerasFileWriter.write(model, layout: .keras2Weights, in: directory, options: ["--corrupt", "pool3_conv"])
        XCTAssertThrowsError(try KerasImporter.load(wrong, architecture: model.architecture)) { error in
            XCTAssertTrue("\(error)".contains("Keras layer 'pool3_conv'"), "\(error)")
            XCTAssertTrue("\(error)".contains("[1, 1, 512, 255]"), "\(error)")
        }
        XCTAssertThrowsError(try KerasImporter.load(missing, architecture: Architectures.named("resnet50"))) { error in
            XCTAssertTrue("\(error)".contains("resnet50 has no Keras counterpart"), "\(error)")
        }
    }

    /// `skinlesion import`'s library path: the converted file is a normal model file whose
    /// metadata carries the architecture's input size and preprocessing and no training.
    func testImportedModelSavesAsModelFile() throws {
        let model = try Architectures.named("densenet121").build(classes: 2, head: .linear, seed: 51)
        let url = try KerasFileWriter.write(model, layout: .keras3Archive, in: directory)
        let imported = try KerasImporter.load(url, architecture: model.architecture).model
        let file = directory.appendingPathComponent("imported.safetensors")
        try ModelFile.save(imported, classNames: ["benign", "malignant"], to: file)
        let (loaded, metadata) = try ModelFile.load(from: file)
        XCTAssertEqual(metadata.architecture, "densenet121")
        XCTAssertEqual(metadata.classNames, ["benign", "malignant"])
        XCTAssertEqual(metadata.inputSize, 224)
        XCTAssertEqual(metadata.preprocessing, .kerasTorch)
        XCTAssertNil(metadata.training)
        assertSameTensors(loaded, model, "model file")
    }

    /// Files saved by Keras itself (`tools/keras_saved_reference.py`: DenseNet121 at 64² with a
    /// Dense → BatchNorm → ReLU → Dropout(0.3) → Dense head) import to Keras's logits, in all
    /// three formats Keras 3 writes; the two saved models' configurations pass the head check
    /// and give the rate. Needs pip keras with its PyTorch backend in the venv (scripts/setup).
    func testActualKerasSavedFilesGiveKerasLogits() throws {
        try PythonReference.requireKeras()
        try PythonReference.run(["--output", directory.path],
                                script: PythonReference.root.appendingPathComponent("tools/keras_saved_reference.py"))
        let pixels = try PythonReference.readFloats(directory.appendingPathComponent("x.bin"))
        let expected = try PythonReference.readFloats(directory.appendingPathComponent("logits.bin"))
        let x = try Tensor(shape: [2, 3, 64, 64], values: pixels)
        for file in ["model.keras", "model.weights.h5", "model.h5"] {
            let result = try KerasImporter.load(directory.appendingPathComponent(file),
                                                architecture: Architectures.named("densenet121"))
            let checked = file != "model.weights.h5"
            XCTAssertEqual(result.headChecked, checked, file)
            XCTAssertEqual(result.model.head, .mlp(hidden: [16], dropout: checked ? 0.3 : HeadConfig.standardDropout), file)
            let logits = try result.model.forward(x, mode: .inference).toArray()
            let error = relativeError(logits, expected)
            print("keras-saved \(file) (\(result.format.rawValue)): relative error \(error)")
            XCTAssertLessThanOrEqual(error, 1e-5, file)
        }
    }
}
