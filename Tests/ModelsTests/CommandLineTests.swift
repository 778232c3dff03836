import Foundation
@testable import Inference
@testable import Interop
@testable import Models
@testable import NeuralNet
import XCTest

/// The `skinlesion` executable itself, as a user runs it: weights from a PyTorch checkpoint
/// into `train` and `import`, a hostile checkpoint refused, `predict --json` on a folder, and
/// `quantize` into `predict` at int8.
final class CommandLineTests: XCTestCase {
    var directory: URL!
    static let ham = PythonReference.root.deletingLastPathComponent().appendingPathComponent("shared/data/ham10000-sample")

    override func setUpWithError() throws { directory = try PythonReference.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// The binary `swift build` put beside this test bundle.
    static var executable: URL {
        (Bundle.main.executableURL?.deletingLastPathComponent() ?? PythonReference.root.appendingPathComponent(".build/release"))
            .appendingPathComponent("skinlesion")
    }

    private func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        guard FileManager.default.isExecutableFile(atPath: Self.executable.path) else {
            XCTFail("no skinlesion executable at \(Self.executable.path): build the package first")
            return (-1, "", "")
        }
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["OMP_NUM_THREADS"] = environment["OMP_NUM_THREADS"] ?? "1"
        process.environment = environment
        let output = directory.appendingPathComponent("stdout.txt"), errors = directory.appendingPathComponent("stderr.txt")
        try Data().write(to: output)
        try Data().write(to: errors)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: output, encoding: .utf8), try String(contentsOf: errors, encoding: .utf8))
    }

    private func requireHAM() throws {
        guard FileManager.default.fileExists(atPath: Self.ham.appendingPathComponent("HAM10000_metadata.csv").path) else {
            throw XCTSkip("HAM10000 sample not found at \(Self.ham.path) (see ../shared/data/README.md)")
        }
    }

    /// A torchvision ResNet-50 state dict as `torch.save` writes it (tools/torch_files.py: the
    /// same module tree in plain torch.nn) trains directly with `--weights`: the frozen
    /// backbone in best.safetensors is the checkpoint's, tensor for tensor. `import --from`
    /// turns it into a 1000-class model file; a checkpoint with a forbidden global is refused.
    func testTorchvisionCheckpointTrainsAndImports() throws {
        try requireHAM()
        try PythonReference.requireModules(["torch"])
        let checkpoint = directory.appendingPathComponent("resnet50-torchvision.pth")
        try PythonReference.run(["resnet50", "--output", checkpoint.path, "--seed", "3"],
                                script: PythonReference.root.appendingPathComponent("tools/torch_files.py"))
        let runDirectory = directory.appendingPathComponent("run")
        let train = try run(["train", "--dataset", Self.ham.path, "--arch", "resnet50", "--weights", checkpoint.path,
                             "--epochs", "1", "--batch-size", "16", "--freeze", "all", "--augment", "none",
                             "--image-size", "64", "--threads", "1", "--output", runDirectory.path])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stderr.contains("(PyTorch zip checkpoint, 320 tensors)"), train.stderr)
        let source = try TorchCheckpoint(contentsOf: checkpoint).stateDict
        let (trained, metadata) = try ModelFile.load(from: runDirectory.appendingPathComponent("best.safetensors"))
        XCTAssertEqual(metadata.classNames.count, 7)
        var compared = 0
        for (name, parameter) in trained.namedParameters where !name.hasPrefix("fc") {
            XCTAssertEqual(parameter.values, try source.entries[name]?.read(), name)
            compared += 1
        }
        XCTAssertEqual(compared, 318, "every backbone tensor, counters included")

        let imported = directory.appendingPathComponent("imported.safetensors")
        let result = try run(["import", "--from", checkpoint.path, "--arch", "resnet50", "--output", imported.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("PyTorch zip checkpoint, 320 tensors"), result.stdout)
        let (model, importedMetadata) = try ModelFile.load(from: imported)
        XCTAssertEqual(model.head, .linear)
        XCTAssertEqual(importedMetadata.classNames.count, 1000)

        let hostile = directory.appendingPathComponent("hostile.pth")
        let system = PickleBuilder().proto().global("os", "system").string("touch pwned").op([0x85]).reduce().stop()
        try PickleBuilder.legacyFile(object: system.bytes).write(to: hostile)
        let refused = try run(["import", "--from", hostile.path, "--arch", "resnet50", "--output", imported.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("hostile.pth: object at byte 27: refused global os.system"), refused.stderr)
    }

    /// `predict --image FOLDER --json` prints one JSON object per image per line; without
    /// `--json` a folder is CSV.
    func testPredictFolderAsJSONLines() throws {
        try requireHAM()
        let images = directory.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        for id in ["ISIC_0024306", "ISIC_0024307", "ISIC_0024308"] {
            let name = "\(id).jpg"
            try FileManager.default.createSymbolicLink(at: images.appendingPathComponent(name),
                                                       withDestinationURL: Self.ham.appendingPathComponent("HAM10000_images_part_1/\(name)"))
        }
        let modelFile = directory.appendingPathComponent("model.safetensors")
        let classes = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
        try ModelFile.save(Architectures.named("efficientnet-lite0").build(classes: 7, seed: 2), classNames: classes, to: modelFile)
        let json = try run(["predict", "--model", modelFile.path, "--image", images.path, "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let lines = json.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, json.stdout)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertEqual(object?["classes"] as? [String], classes, String(line))
            XCTAssertEqual((object?["probabilities"] as? [Double])?.count, 7, String(line))
            XCTAssertTrue((object?["image"] as? String)?.hasSuffix(".jpg") ?? false, String(line))
        }
        let csv = try run(["predict", "--model", modelFile.path, "--image", images.path])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        XCTAssertTrue(csv.stdout.hasPrefix("image,top,confidence,low_confidence,akiec,"), csv.stdout)
        XCTAssertEqual(csv.stdout.split(separator: "\n").count, 4)
    }

    /// `quantize` writes an int8 file that `predict` runs in int8 by default; an FP32 file at
    /// `--precision int8` and bf16 on a CPU without AVX512_BF16 stop with the reason.
    func testQuantizeThenPredictInInt8() throws {
        try requireHAM()
        let model = try Architectures.named("resnet50").build(classes: 7, seed: 2)
        let fp32 = directory.appendingPathComponent("fp32.safetensors"), int8 = directory.appendingPathComponent("int8.safetensors")
        try ModelFile.save(model, metadata: ModelMetadata(architecture: "resnet50", classNames: ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"],
                                                          head: model.head, inputSize: 64, preprocessing: .imagenet), to: fp32)
        let quantized = try run(["quantize", "--model", fp32.path, "--dataset", Self.ham.path, "--images", "8",
                                 "--calibration", "percentile", "--output", int8.path])
        XCTAssertEqual(quantized.status, 0, quantized.stderr)
        XCTAssertTrue(quantized.stdout.contains("int8, 53 quantized convolutions"), quantized.stdout)
        let image = Self.ham.appendingPathComponent("HAM10000_images_part_1/ISIC_0024306.jpg").path
        let predicted = try run(["predict", "--model", int8.path, "--image", image, "--json"])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        XCTAssertTrue(predicted.stdout.contains("\"top\""), predicted.stdout)
        let refused = try run(["predict", "--model", fp32.path, "--image", image, "--precision", "int8"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("needs a quantized model (skinlesion quantize)"), refused.stderr)
        let bf16 = try run(["predict", "--model", fp32.path, "--image", image, "--precision", "bf16"])
        if CPUISA.effective.includes(.avx512CoreBF16) {
            XCTAssertEqual(bf16.status, 0, bf16.stderr)
        } else {
            XCTAssertNotEqual(bf16.status, 0)
            XCTAssertTrue(bf16.stderr.contains("needs AVX-512 with AVX512_BF16"), bf16.stderr)
            XCTAssertTrue(bf16.stderr.contains("oneDNN reports \(CPUISA.effective.name)"), bf16.stderr)
        }
    }
}
