import Foundation
@testable import Interop
@testable import Models
@testable import NeuralNet
import XCTest

/// `WeightFiles.open` picks the reader by content, never by name: files under misleading
/// extensions still reach the right reader, and each gives the state dict `train --weights`
/// loads (the head skipped) and the classifier `import` saves.
final class WeightSourceTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try PythonReference.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testSafeTensorsUnderAnyNameLoadsAndImports() throws {
        let model = try Architectures.named("efficientnet-lite0").build(classes: 5, head: .linear, seed: 6)
        try randomizeBatchNorms(model, seed: 7)
        let file = directory.appendingPathComponent("weights.pth")
        try PythonReference.writeWeights(model, to: file)
        let source = try WeightFiles.open(file)
        XCTAssertTrue(source is SafeTensorsSource)
        let target = try model.architecture.build(classes: 7, seed: 1)
        try target.load(from: source.stateDict(for: model.architecture), skipping: [model.architecture.headName])
        let expected = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.parameter.values) })
        for (name, p) in target.namedParameters where !name.hasPrefix("_fc") { XCTAssertTrue(p.values == expected[name], name) }
        let imported = try source.classifier(for: model.architecture)
        XCTAssertEqual(imported.model.head, .linear)
        XCTAssertEqual(imported.model.classes, 5)
        XCTAssertTrue(imported.warnings.isEmpty)
        XCTAssertThrowsError(try source.classifier(for: Architectures.named("efficientnet-lite1"))) { error in
            XCTAssertTrue("\(error)".contains("weights.pth does not fit the model"), "\(error)")
        }
    }

    /// A `.keras` archive named `.bin` and a Keras 2 `.h5` named `.pt` go to the Keras reader,
    /// whose state dict has our names; a weights-only head comes with its warning.
    func testKerasFilesAreRecognisedByContent() throws {
        let model = try Architectures.named("densenet121").build(classes: 3, head: .linear, seed: 8)
        try randomizeBatchNorms(model, seed: 9)
        let expected = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.parameter.values) })
        for (layout, name) in [(KerasFileWriter.Layout.keras3Archive, "model.bin"), (.keras2Weights, "model.pt")] {
            let written = try KerasFileWriter.write(model, layout: layout, in: directory)
            let file = directory.appendingPathComponent(name)
            try FileManager.default.moveItem(at: written, to: file)
            let source = try WeightFiles.open(file)
            XCTAssertTrue(source is KerasSource, name)
            let state = try source.stateDict(for: model.architecture)
            XCTAssertEqual(state.source, name)
            // The backbone only (train never takes a file's head), tensor for tensor.
            XCTAssertFalse(state.names.contains { $0.hasPrefix("classifier") }, name)
            for (tensor, values) in expected where !tensor.hasSuffix("num_batches_tracked") && !tensor.hasPrefix("classifier") {
                XCTAssertTrue(try state.entries[tensor]?.read() == values, "\(name): \(tensor)")
            }
            // (A file without a fixed input shape adds a second warning, about the input size.)
            let warnings = try source.classifier(for: model.architecture).warnings
            XCTAssertEqual(warnings.filter { $0.contains("could not be checked") }.count, layout.hasConfig ? 0 : 1, "\(name): \(warnings)")
        }
        // Keras Applications' include_top=False: the backbone trains, import has no head to take.
        let notop = try KerasFileWriter.write(model, layout: .keras2Weights, in: directory, options: ["--drop", "predictions"])
        let source = try WeightFiles.open(notop)
        let target = try model.architecture.build(classes: 7, seed: 1)
        try target.load(from: source.stateDict(for: model.architecture), skipping: [model.architecture.headName])
        for (name, p) in target.namedParameters where !name.hasPrefix("classifier") && p.kind != .counter {
            XCTAssertTrue(p.values == expected[name], "notop: \(name)")
        }
        XCTAssertThrowsError(try source.classifier(for: model.architecture)) { error in
            XCTAssertTrue("\(error)".contains("no classifier"), "\(error)")
        }
    }
}
