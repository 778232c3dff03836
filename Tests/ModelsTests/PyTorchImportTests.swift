import Foundation
@testable import Interop
@testable import Models
@testable import NeuralNet
import TestSupport
import XCTest

/// PyTorch checkpoints written by pip's CPU torch (`tools/torch_files.py`) read back to every
/// tensor exactly, in both layouts torch writes; hostile pickles are refused by name.
final class PyTorchImportTests: XCTestCase {
    var directory: URL!
    static let tool = PythonReference.root.appendingPathComponent("tools/torch_files.py")

    override func setUpWithError() throws { directory = try PythonReference.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    private func torchFiles(_ arguments: [String]) throws {
        try PythonReference.requireModules(["torch"])
        try PythonReference.run(arguments, script: Self.tool)
    }

    /// Names, shapes, stored dtypes and every value bit for bit against what torch read back.
    private func assertMatchesReference(_ state: StateDict, _ reference: URL, _ label: String,
                                        file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try SafeTensorsFile(contentsOf: reference)
        let dtypes = try JSONDecoder().decode([String: String].self, from: Data(expected.metadata["dtypes"]!.utf8))
        XCTAssertEqual(state.names, expected.names, label, file: file, line: line)
        for name in expected.names {
            guard let entry = state.entries[name] else { continue }
            XCTAssertEqual(entry.shape, expected.entries[name]!.shape, "\(label): \(name)", file: file, line: line)
            XCTAssertEqual(entry.dtype, dtypes[name], "\(label): \(name)", file: file, line: line)
            XCTAssertEqual(try entry.read().map(\.bitPattern), try expected.floats(name).map(\.bitPattern),
                           "\(label): \(name)", file: file, line: line)
        }
    }

    /// float32, float16, bfloat16 and int64 tensors, a 0-d counter, a Parameter, a transpose,
    /// a slice with an offset, two tensors on one storage, the same tensor twice, a stride-0
    /// expand and an empty tensor: zip and legacy layouts, pickle protocols 2 and 4, and a zip
    /// re-packed deflated and with ZIP64 records. Each is recognised by content.
    func testEveryKindOfTensorMatchesTorch() throws {
        let zip = TorchCheckpoint.Layout.zip.rawValue, legacy = TorchCheckpoint.Layout.legacy.rawValue
        let variants = [("zip", zip), ("legacy", legacy), ("zip-protocol4", zip), ("legacy-protocol4", legacy),
                        ("zip-deflate", zip), ("zip-zip64", zip)]
        try torchFiles(["tensors", "--directory", directory.path, "--variants", variants.map(\.0).joined(separator: ",")])
        for (variant, format) in variants {
            let source = try WeightFiles.open(url("\(variant).pth"))
            XCTAssertTrue(source is PyTorchSource, variant)
            XCTAssertEqual(source.format, format, variant)
            let state = try source.stateDict(for: Architectures.named("resnet50"))
            XCTAssertEqual(state.source, "\(variant).pth")
            XCTAssertEqual(state.entries.count, 13, variant)
            try assertMatchesReference(state, url("\(variant).reference.safetensors"), variant)
        }
    }

    /// `{'epoch', key: DataParallel state dict, 'optimizer': SGD with momentum, …}`: the state
    /// dict is found under the key, `module.` is removed, the optimizer's tensors are not read.
    func testTrainingCheckpointIsUnwrapped() throws {
        let variants = [("zip", "state_dict"), ("legacy", "model_state_dict"), ("zip", "model")]
        try torchFiles(["checkpoint", "--directory", directory.path,
                        "--variants", variants.map { "\($0.0):\($0.1)" }.joined(separator: ",")])
        for (layout, key) in variants {
            let checkpoint = try TorchCheckpoint(contentsOf: url("checkpoint-\(layout)-\(key).pth"))
            XCTAssertEqual(checkpoint.unwrapped, [key])
            XCTAssertTrue(checkpoint.strippedModulePrefix)
            XCTAssertEqual(checkpoint.stateDict.names.first, "bn.bias")
            try assertMatchesReference(checkpoint.stateDict, url("checkpoint.reference.safetensors"), "\(layout) \(key)")
        }
    }

    /// Our own state dict names, written by torch: `import` builds the head from the tensors'
    /// shapes (SkinLesion's MLP: `_fc.0`, `_fc.1`, `_fc.4`) and gives the same logits.
    func testImportFromCheckpointWithOurNames() throws {
        let model = try Architectures.named("efficientnet-lite0").build(classes: 3, head: .mlp(hidden: [32], dropout: 0.2), seed: 3)
        try randomizeBatchNorms(model, seed: 4)
        let weights = url("ours.safetensors")
        try PythonReference.writeWeights(model, to: weights)
        let x = try Tensor(shape: [1, 3, 64, 64], values: randomValues(3 * 64 * 64, seed: 5))
        let expected = try model.forward(x, mode: .inference).toArray()
        for layout in ["zip", "legacy"] {
            let file = url("ours-\(layout).pt")
            try torchFiles(["from-safetensors", "--input", weights.path, "--layout", layout, "--output", file.path])
            let imported = try WeightFiles.open(file).classifier(for: model.architecture)
            XCTAssertEqual(imported.model.head, .mlp(hidden: [32], dropout: HeadConfig.standardDropout), layout)
            XCTAssertEqual(imported.model.classes, 3)
            XCTAssertEqual(imported.warnings.count, 1, "the dropout rate is not in a state dict")
            for ((name, a), (_, b)) in zip(model.namedParameters, imported.model.namedParameters) {
                XCTAssertEqual(a.values, b.values, "\(layout): \(name)")
            }
            XCTAssertEqual(try imported.model.forward(x, mode: .inference).toArray(), expected, layout)
        }
    }

    // MARK: - Hostile files (no torch needed)

    /// Writes `data` as hostile.pth and returns the error reading it gives.
    private func refusal(_ data: Data, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = url("hostile.pth")
        try data.write(to: path)
        var message = ""
        XCTAssertThrowsError(try TorchCheckpoint(contentsOf: path), file: file, line: line) { message = "\($0)" }
        XCTAssertTrue(message.hasPrefix("hostile.pth: "), message, file: file, line: line)
        return message
    }

    func testForbiddenGlobalsAreRefusedByName() throws {
        let system = PickleBuilder().proto().global("os", "system").string("echo pwned").op([0x85]).reduce().stop()
        let message = try refusal(PickleBuilder.legacyFile(object: system.bytes))
        XCTAssertTrue(message.contains("refused global os.system"), message)
        XCTAssertTrue(message.contains("object at byte 27: refused"), message) // the GLOBAL, counted from the file's start
        let eval = PickleBuilder().proto(4).op([0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93])
        XCTAssertTrue(try refusal(PickleBuilder.legacyFile(object: eval.bytes)).contains("refused global builtins.eval"))
        // A numpy scalar in a checkpoint is refused too: nothing outside the list is looked up.
        let numpy = PickleBuilder().proto().global("numpy.core.multiarray", "scalar")
        XCTAssertTrue(try refusal(PickleBuilder.legacyFile(object: numpy.bytes)).contains("refused global numpy.core.multiarray.scalar"))
        let inst = PickleBuilder().proto().op([0x69] + Array("os\nsystem\n".utf8))
        XCTAssertTrue(try refusal(PickleBuilder.legacyFile(object: inst.bytes)).contains("opcode 0x69 'i' INST is not allowed"))
    }

    func testHugeSizesAreRefusedBeforeAllocating() throws {
        // A string claiming 4 GiB in a file of a few bytes.
        let string = PickleBuilder().proto().op([0x58, 0xF0, 0xFF, 0xFF, 0xFF, 0x41])
        XCTAssertTrue(try refusal(PickleBuilder.legacyFile(object: string.bytes))
            .contains("a string of 4294967280 bytes runs past the end"))
        // A storage of 2^40 elements whose bytes are 16.
        let huge = PickleBuilder.stateDict(numel: 1 << 40, size: [4], stride: [1])
        let storage = try refusal(PickleBuilder.legacyFile(object: huge.bytes, storages: [("0", 1 << 40, [UInt8](repeating: 0, count: 16))]))
        XCTAssertTrue(storage.contains("truncated: storage '0' needs 1099511627776 F32 elements"), storage)
        // A tensor reaching past its storage, and one of 2^40 elements on stride 0.
        let past = PickleBuilder.stateDict(numel: 4, size: [1000], stride: [1])
        XCTAssertTrue(try refusal(PickleBuilder.legacyFile(object: past.bytes)).contains("reach element 999 of a storage of 4"))
        let expanded = PickleBuilder.stateDict(numel: 4, size: [1 << 40], stride: [0])
        XCTAssertTrue(try refusal(PickleBuilder.legacyFile(object: expanded.bytes)).contains("more than 268435456 elements"))
        // A storage record that disagrees with the object's.
        let fine = PickleBuilder.stateDict(numel: 4, size: [4], stride: [1])
        XCTAssertTrue(try refusal(PickleBuilder.legacyFile(object: fine.bytes, storages: [("0", 5, [UInt8](repeating: 0, count: 20))]))
            .contains("storage '0' records 5 elements, the object says 4"))
    }

    func testTruncationIsAnError() throws {
        let fine = PickleBuilder.stateDict(numel: 4, size: [2, 2], stride: [2, 1])
        let whole = PickleBuilder.legacyFile(object: fine.bytes, storages: [("0", 4, [UInt8](repeating: 0, count: 16))])
        // The well-formed file reads, so each cut below is what fails.
        let path = url("whole.pth")
        try whole.write(to: path)
        XCTAssertEqual(try TorchCheckpoint(contentsOf: path).stateDict.entries["w"]?.read(), [0, 0, 0, 0])
        let header = PickleBuilder.legacyHeader.count
        XCTAssertTrue(try refusal(whole.prefix(header + 40)).contains("object at byte"))
        XCTAssertTrue(try refusal(whole.prefix(header + 40)).contains("truncated"))
        XCTAssertTrue(try refusal(whole.prefix(whole.count - 3)).contains("truncated: storage '0' needs 4 F32 elements"))
        XCTAssertTrue(try refusal(whole.prefix(5)).contains("magic number at byte"))
    }

    func testRecursionBombsAreRefused() throws {
        let marks = PickleBuilder().proto().op([UInt8](repeating: 0x28, count: 100_000))
        XCTAssertTrue(try refusal(PickleBuilder.legacyFile(object: marks.bytes)).contains("nested deeper than 1000 levels"))
        let lists = PickleBuilder().proto().op([UInt8](repeating: 0x5D, count: 1_000_001))
        XCTAssertTrue(try refusal(PickleBuilder.legacyFile(object: lists.bytes)).contains("more than 1000000 values on the stack"))
        // A list that contains itself (APPEND of its own memo entry) stays a value: nothing walks it.
        let cycle = PickleBuilder().proto().emptyList().op([0x71, 0, 0x68, 0, 0x61]).stop()
        XCTAssertTrue(try refusal(PickleBuilder.legacyFile(object: cycle.bytes)).contains("the checkpoint is a list, not a dict of tensors"))
    }

    func testZipWithoutDataPickleAndUnknownFilesAreNamed() throws {
        let notes = url("notes.pth")
        try Data("hello".utf8).write(to: notes)
        XCTAssertThrowsError(try WeightFiles.open(notes)) { error in
            XCTAssertTrue("\(error)".hasPrefix("notes.pth: not a weight file SkinLesion reads"), "\(error)")
            XCTAssertTrue("\(error)".contains("PyTorch checkpoint"), "\(error)")
        }
        let zip = url("broken.pth")
        try Data([0x50, 0x4B, 0x03, 0x04, 0, 0]).write(to: zip)
        XCTAssertThrowsError(try WeightFiles.open(zip)) { XCTAssertTrue("\($0)".hasPrefix("broken.pth: zip:"), "\($0)") }
    }
}
