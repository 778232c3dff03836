import Dermoscopy
import Foundation
import TestSupport
import XCTest
@testable import Inference
@testable import Models
@testable import NeuralNet

/// Hostile model files: metadata edited by hand, as a model file that travelled between people
/// may be. Each must give an error naming the field and its bound, from `ModelFile.load` and
/// from `skinlesion predict` (exit status 1, the message on stderr), never a crash or a
/// prediction.
final class ModelLimitsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try temporaryDirectory("skinlesion-limits") }

    static let base = ModelMetadata(architecture: "efficientnet-lite0", classNames: ["akiec", "bcc", "mel", "nv"],
                                    head: .mlp(hidden: [16], dropout: 0.3), inputSize: 224, preprocessing: .tfLite)

    /// A complete, valid metadata block as JSON objects, to edit.
    func validMetadata() throws -> [String: Any] {
        var metadata = Self.base
        metadata.temperature = 1.5
        metadata.training = TrainingSummary(datasets: ["HAM10000"], splitProtocol: "lesion-grouped 70/15/15",
                                            imagesPerSplit: ["train": 70, "val": 15], classCounts: ["mel": 30, "nv": 40],
                                            epochsTrained: 3, bestEpoch: 2, validationBalancedAccuracy: 0.5,
                                            validationAccuracy: 0.6, validationMacroAUC: 0.7, settings: "adamw")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(metadata)) as? [String: Any])
    }

    /// The weights of a real model that fits `base`, saved once per test.
    var weights: SafeTensorsFile!

    /// A model file whose metadata is `metadata`: with the real weights of `base`, as a user
    /// editing the JSON of a good file makes it, or with one stray tensor, enough where the
    /// metadata must be refused before the weights are looked at.
    func write(_ metadata: [String: Any], name: String, realWeights: Bool = false) throws -> URL {
        var writer = SafeTensorsWriter()
        if !realWeights { try writer.add("unused", shape: [1], floats: [0]) }
        if realWeights, weights == nil {
            let model = try Architectures.named(Self.base.architecture).build(classes: Self.base.classNames.count, head: Self.base.head)
            let url = directory.appendingPathComponent("base.safetensors")
            try ModelFile.save(model, metadata: Self.base, to: url)
            weights = try SafeTensorsFile(contentsOf: url)
        }
        for name in realWeights ? weights.names : [] {
            let entry = try XCTUnwrap(weights.entries[name])
            if entry.dtype == .i64 {
                try writer.add(name, shape: entry.shape, int64s: weights.int64s(name))
            } else {
                try writer.add(name, shape: entry.shape, floats: weights.floats(name))
            }
        }
        writer.metadata[ModelFile.metadataKey] = String(decoding: try JSONSerialization.data(withJSONObject: metadata), as: UTF8.self)
        let url = directory.appendingPathComponent(name + ".safetensors")
        try writer.write(to: url)
        return url
    }

    typealias Edit = @Sendable (inout [String: Any]) -> Void

    /// A `.sequence` head as the model file's JSON spells it, max-pooled.
    static func sequence(_ layers: [[String: Any]]) -> [String: Any] {
        ["sequence": ["pooling": "max", "layers": layers]]
    }

    /// The four crashes and the silent 1×1 prediction, then every other field.
    static let hostile: [(name: String, edit: Edit, message: String)] = [
        ("input-1000000", { $0["inputSize"] = 1_000_000 }, "inputSize 1000000 is outside 32…1024"),
        ("input-minus-5", { $0["inputSize"] = -5 }, "inputSize -5 is outside 32…1024"),
        ("input-0", { $0["inputSize"] = 0 }, "inputSize 0 is outside 32…1024"),
        ("input-1", { $0["inputSize"] = 1 }, "inputSize 1 is outside 32…1024"),
        ("hidden-2-40", { $0["head"] = ["mlp": ["hidden": [1 << 40], "dropout": 0.5]] }, "head hidden[0] 1099511627776 is outside 1…4096"),
        ("hidden-0", { $0["head"] = ["mlp": ["hidden": [0], "dropout": 0.5]] }, "head hidden[0] 0 is outside 1…4096"),
        ("hidden-none", { $0["head"] = ["mlp": ["hidden": [Int](), "dropout": 0.5]] }, "head hidden layer count 0 is outside 1…8"),
        ("hidden-many", { $0["head"] = ["mlp": ["hidden": [Int](repeating: 8, count: 100), "dropout": 0.5]] },
         "head hidden layer count 100 is outside 1…8"),
        ("dropout-1", { $0["head"] = ["mlp": ["hidden": [8], "dropout": 1.0]] }, "head dropout 1.0 is outside [0, 1)"),
        ("sequence-2-40", { $0["head"] = ModelLimitsTests.sequence([["dense": ["units": 1 << 40]]]) },
         "head layers[0] Dense units 1099511627776 is outside 1…4096"),
        ("sequence-dropout-1", { $0["head"] = ModelLimitsTests.sequence([["dense": ["units": 8]], ["dropout": ["rate": 1.0]]]) },
         "head layers[1] Dropout rate 1.0 is outside [0, 1)"),
        ("sequence-many", { $0["head"] = ModelLimitsTests.sequence([[String: Any]](repeating: ["batchNorm": [String: Any]()], count: 1000)) },
         "head layers count 1000 is outside 0…32"),
        ("dropout-negative", { $0["head"] = ["mlp": ["hidden": [8], "dropout": -0.5]] }, "head dropout -0.5 is outside [0, 1)"),
        ("one-class", { $0["classNames"] = ["mel"] }, "classNames count 1 is outside 2…10000"),
        ("many-classes", { $0["classNames"] = (0..<20_000).map { "c\($0)" } }, "classNames count 20000 is outside 2…10000"),
        ("empty-class-name", { $0["classNames"] = ["mel", ""] }, "classNames[1] is 0 bytes long, outside 1…256"),
        ("long-class-name", { $0["classNames"] = ["mel", String(repeating: "n", count: 1000)] },
         "classNames[1] is 1000 bytes long, outside 1…256"),
        ("repeated-class", { $0["classNames"] = ["mel", "mel"] }, "classNames repeat a name"),
        ("unknown-architecture", { $0["architecture"] = "resnet9000" }, "architecture 'resnet9000' is not one of resnet50, "),
        ("huge-architecture", { $0["architecture"] = String(repeating: "x", count: 100_000) },
         "architecture is 100000 bytes long, outside 1…64"),
        ("unknown-mode", { $0["preprocessing"] = ["mode": "yolo", "mean": [0, 0, 0], "std": [1, 1, 1]] },
         "preprocessing mode 'yolo' is not one of torchvision"),
        ("two-means", { $0["preprocessing"] = ["mode": "tf", "mean": [0, 0], "std": [1, 1, 1]] },
         "preprocessing mean has 2 values, expected 3"),
        ("zero-std", { $0["preprocessing"] = ["mode": "tf", "mean": [0, 0, 0], "std": [1, 0, 1]] },
         "preprocessing std[1] 0.0 is outside 0.0001…100.0"),
        ("huge-mean", { $0["preprocessing"] = ["mode": "tf", "mean": [1e30, 0, 0], "std": [1, 1, 1]] },
         "preprocessing mean[0] 1e+30 is outside -10.0…10.0"),
        ("temperature-0", { $0["temperature"] = 0 }, "temperature 0.0 is outside 0.05…20.0"),
        ("temperature-huge", { $0["temperature"] = 1e6 }, "temperature 1000000.0 is outside 0.05…20.0"),
        ("long-intended-use", { $0["intendedUse"] = String(repeating: "u", count: 10_000) }, "intendedUse is 10000 bytes long, outside 0…4096"),
        ("format-0", { $0["formatVersion"] = 0 }, "formatVersion 0 is outside 1…1"),
        ("long-settings", { $0["training"] = ModelLimitsTests.summary(["settings": String(repeating: "s", count: 5000)]) },
         "training settings is 5000 bytes long, outside 0…4096"),
        ("many-datasets", { $0["training"] = ModelLimitsTests.summary(["datasets": [String](repeating: "d", count: 1000)]) },
         "training datasets count 1000 is outside 0…64"),
        ("negative-epochs", { $0["training"] = ModelLimitsTests.summary(["epochsTrained": -3]) }, "training epochsTrained -3 is outside 0…1000000"),
        ("best-after-end", { $0["training"] = ModelLimitsTests.summary(["bestEpoch": 9]) }, "training bestEpoch 9 is outside 0…3"),
        ("accuracy-2", { $0["training"] = ModelLimitsTests.summary(["validationAccuracy": 2.0]) }, "training validationAccuracy 2.0 is outside 0.0…1.0"),
        ("negative-images", { $0["training"] = ModelLimitsTests.summary(["imagesPerSplit": ["train": -1]]) },
         "training imagesPerSplit[train] -1 is outside 0…100000000"),
        ("fusion-hidden-2-40", { ModelLimitsTests.fuse(&$0, fusion: ["hidden": [1 << 40]]) },
         "fusion hidden[0] 1099511627776 is outside 1…4096"),
        ("fusion-no-hidden", { ModelLimitsTests.fuse(&$0, fusion: ["hidden": [Int]()]) }, "fusion hidden layer count 0 is outside 1…8"),
        ("fusion-dropout-1", { ModelLimitsTests.fuse(&$0, fusion: ["dropout": 1.0]) }, "fusion dropout 1.0 is outside [0, 1)"),
        ("fusion-inputs-0", { ModelLimitsTests.fuse(&$0, fusion: ["inputs": 0]) }, "fusion inputs 0 is outside 1…4096"),
        ("spec-no-features", { ModelLimitsTests.fuse(&$0, features: []) }, "metadataSpec feature count 0 is outside 1…64"),
        ("spec-many-features", { ModelLimitsTests.fuse(&$0, features: [[String: Any]](repeating: ModelLimitsTests.age(), count: 100)) },
         "metadataSpec feature count 100 is outside 1…64"),
        ("spec-huge-scale", { ModelLimitsTests.fuse(&$0, features: [ModelLimitsTests.age(scale: 1e30)]) },
         "metadataSpec features[0] scale 1e+30 is outside -1000000.0…1000000.0"),
        ("spec-zero-scale", { ModelLimitsTests.fuse(&$0, features: [ModelLimitsTests.age(scale: 0)]) },
         "metadataSpec features[0] scale is 0; it must be non-zero"),
        ("spec-many-categories", { ModelLimitsTests.fuse(&$0, features: [ModelLimitsTests.site((0..<1000).map { "s\($0)" })]) },
         "metadataSpec features[0] category count 1000 is outside 1…256"),
        ("spec-no-categories", { ModelLimitsTests.fuse(&$0, features: [ModelLimitsTests.site([])]) },
         "metadataSpec features[0] category count 0 is outside 1…256"),
        ("spec-long-category", { ModelLimitsTests.fuse(&$0, features: [ModelLimitsTests.site(["back", String(repeating: "c", count: 300)])]) },
         "metadataSpec features[0] categories[1] is 300 bytes long, outside 0…256"),
        ("spec-long-name", { ModelLimitsTests.fuse(&$0, features: [ModelLimitsTests.age(name: String(repeating: "a", count: 5000))]) },
         "metadataSpec features[0] name is 5000 bytes long, outside 0…256"),
    ]

    /// A numeric feature as the spec's JSON has it.
    static func age(name: String = "age", scale: Double = 0.05) -> [String: Any] {
        ["name": name, "column": "age", "numeric": ["scale": scale, "shift": -2.5, "fill": 0, "missingIndicator": true]]
    }

    /// A categorical feature with `categories`.
    static func site(_ categories: [String]) -> [String: Any] {
        ["name": "site", "column": "localization", "categorical": ["categories": categories, "aliases": [String: String](), "unknownSlot": true]]
    }

    /// Gives the metadata a fusion head over a spec of `features`, `fusion` overriding the
    /// head's fields (a consistent head by default: inputs = the age feature's two slots).
    static func fuse(_ metadata: inout [String: Any], fusion: [String: Any] = [:], features: [[String: Any]] = [age()]) {
        metadata["metadataSpec"] = ["formatVersion": 1, "features": features, "missingValues": ["", "unknown"]]
        metadata["fusion"] = ["inputs": 2, "hidden": [8], "dropout": 0.3].merging(fusion) { $1 }
    }

    /// The valid training summary with `changes` applied.
    static func summary(_ changes: [String: Any]) -> [String: Any] {
        var summary: [String: Any] = ["datasets": ["HAM10000"], "splitProtocol": "grouped", "imagesPerSplit": ["train": 70],
                                      "classCounts": ["mel": 30], "epochsTrained": 3, "bestEpoch": 2,
                                      "validationBalancedAccuracy": 0.5, "validationAccuracy": 0.6, "settings": "adamw"]
        summary.merge(changes) { $1 }
        return summary
    }

    func testEveryHostileFieldIsRefusedByNameBeforeAnythingIsBuilt() throws {
        for (name, edit, message) in Self.hostile {
            var metadata = try validMetadata()
            edit(&metadata)
            let url = try write(metadata, name: name)
            XCTAssertThrowsError(try ModelFile.load(from: url), name) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("\(name).safetensors: metadata out of bounds: "), "\(name): \(text.prefix(300))")
                XCTAssertTrue(text.contains(message), "\(name): expected '\(message)' in \(text.prefix(300))")
                XCTAssertLessThan(text.utf8.count, 2000, "\(name): the message must not echo the hostile value")
            }
        }
    }

    /// Several bad fields are reported together, so one edit-and-retry fixes them all.
    func testAllProblemsAreListedAtOnce() throws {
        var metadata = try validMetadata()
        metadata["inputSize"] = 0
        metadata["temperature"] = 100
        let url = try write(metadata, name: "two")
        XCTAssertThrowsError(try ModelFile.load(from: url)) { error in
            XCTAssertTrue("\(error)".contains("inputSize 0 is outside 32…1024; temperature 100.0 is outside 0.05…20.0"), "\(error)")
        }
    }

    /// The valid metadata passes the limits, and a real model at the smallest input size loads.
    func testValidMetadataAndTheSmallestInputSizeLoad() throws {
        var json = try validMetadata()
        XCTAssertEqual(ModelLimits.problems(in: try decode(json)), [])
        Self.fuse(&json, features: [Self.age(), Self.site(["back", "face"])])
        json["fusion"] = ["inputs": 5, "hidden": [8], "dropout": 0.3]
        let fused = try decode(json)
        XCTAssertEqual(fused.metadataSpec?.width, 5)
        XCTAssertEqual(ModelLimits.problems(in: fused), [])
        // What a Keras import writes: a max-pooled sequence head and a per-channel preprocessing.
        json["head"] = Self.sequence([["dense": ["units": 64]], ["activation": ["_0": "relu"]], ["dropout": ["rate": 0.2]]])
        json["preprocessing"] = ["mode": "perChannel", "mean": [0.5, 0.45, 0.4], "std": [0.25, 0.2, 0.22]]
        let imported = try decode(json)
        XCTAssertEqual(imported.head, .sequence(pooling: .max, layers: [.dense(units: 64), .activation(.relu), .dropout(rate: 0.2)]))
        XCTAssertEqual(ModelLimits.problems(in: imported), [])
        let model = try Architectures.named("efficientnet-lite0").build(classes: 2, head: .linear, seed: 1)
        var small = ModelMetadata(architecture: model.architecture.name, classNames: ["a", "b"], head: .linear,
                                  inputSize: ModelLimits.inputSize.lowerBound, preprocessing: model.architecture.preprocessing)
        small.temperature = ModelLimits.temperature.upperBound
        let url = directory.appendingPathComponent("small.safetensors")
        try ModelFile.save(model, metadata: small, to: url)
        XCTAssertEqual(try ModelFile.load(from: url).metadata, small)
    }

    func decode(_ json: [String: Any]) throws -> ModelMetadata {
        try JSONDecoder().decode(ModelMetadata.self, from: JSONSerialization.data(withJSONObject: json))
    }

    /// What a user sees: `skinlesion predict` exits 1 with the message, for the crashes
    /// (exit 134 and 132 before) and the 1×1 image it used to classify.
    func testPredictExitsWithTheMessageInsteadOfCrashing() throws {
        let image = directory.appendingPathComponent("lesion.png")
        try PNGEncoder.encode(RGBImage(width: 64, height: 64, filledWith: (180, 120, 100))).write(to: image)
        let good = try CommandLineTool.run(["predict", "--model", write(validMetadata(), name: "good", realWeights: true).path,
                                            "--image", image.path], logs: directory.appendingPathComponent("good"))
        XCTAssertEqual(good.status, 0, "the unedited file predicts: \(good.stderr)")
        XCTAssertTrue(good.stdout.contains("lesion.png: "), good.stdout)
        for (name, edit, message) in Self.hostile.prefix(5) {
            var metadata = try validMetadata()
            edit(&metadata)
            let url = try write(metadata, name: name, realWeights: true)
            let result = try CommandLineTool.run(["predict", "--model", url.path, "--image", image.path],
                                                 logs: directory.appendingPathComponent(name))
            XCTAssertFalse(result.signaled, "\(name) crashed: \(result.stderr)")
            XCTAssertEqual(result.status, 1, "\(name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(message), "\(name): \(result.stderr)")
            XCTAssertEqual(result.stdout, "", "\(name): no prediction may be printed")
        }
    }
}
