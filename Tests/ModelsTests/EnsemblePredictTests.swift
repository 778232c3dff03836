import Dermoscopy
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Inference
import Models
import NeuralNet
import TestSupport
import XCTest

/// `predict --model A --model B` and `predict --ensemble`, run as a user runs them, on three
/// small synthetic PNGs. Member `a` is EfficientNet-Lite0 at 64×64 with its own preprocessing
/// and a temperature; `b` is one at 48×48 with ImageNet preprocessing that fuses age and site.
/// Every output is checked against each member run alone (a `Predictor` on the same file)
/// and combined by hand.
final class EnsemblePredictTests: XCTestCase {
    static let classes = ["akiec", "bcc", "mel"]
    var directory: URL!
    var images: [URL] = []

    override func setUpWithError() throws {
        directory = try temporaryDirectory("skinlesion-ensemble-predict")
        let folder = directory.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: 4)
        images = try (0..<3).map { index in
            let url = folder.appendingPathComponent("img\(index).png")
            try PNGEncoder.write(RGBImage(width: 72, height: 80, pixels: (0..<72 * 80 * 3).map { _ in UInt8.random(in: 0...255, using: &rng) }), to: url)
            return url
        }
        try save("a.safetensors", seed: 2, size: 64, temperature: 1.3)
        let spec = try MetadataSpec(features: [
            MetadataFeature(name: "age", column: "age", numeric: NumericEncoding(scale: 0.05, shift: -2.5)),
            MetadataFeature(name: "site", column: "localization", categorical: CategoricalEncoding(categories: ["back", "face"])),
        ])
        try save("b.safetensors", seed: 3, size: 48, preprocessing: .imagenet, spec: spec)
    }

    private func save(_ name: String, seed: UInt64, size: Int, preprocessing: Preprocessing? = nil, temperature: Float? = nil,
                      spec: MetadataSpec? = nil, classes: [String] = EnsemblePredictTests.classes) throws {
        let fusion = spec.map { MetadataFusion(inputs: $0.width, hidden: [8]) }
        let model = try Architectures.named("efficientnet-lite0").build(classes: classes.count, fusion: fusion, seed: seed)
        var metadata = ModelMetadata(architecture: model.architecture.name, classNames: classes, head: model.head, inputSize: size,
                                     preprocessing: preprocessing ?? model.architecture.preprocessing)
        metadata.temperature = temperature
        metadata.metadataSpec = spec
        metadata.fusion = fusion
        try ModelFile.save(model, metadata: metadata, to: directory.appendingPathComponent(name))
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func manifest(_ name: String, _ json: String) throws -> String {
        try Data(json.utf8).write(to: directory.appendingPathComponent(name))
        return path(name)
    }

    private func predict(_ arguments: [String], stdin: String? = nil) throws -> CommandLineTool.Result {
        let logs = directory.appendingPathComponent("run-\(UUID().uuidString)")
        var input: URL?
        if let stdin {
            input = logs.appendingPathExtension("in")
            try Data(stdin.utf8).write(to: input!)
        }
        return try CommandLineTool.run(["predict"] + arguments, logs: logs, input: input)
    }

    /// Members `a` and `b` alone on `image`: `[member][class]`.
    private func alone(_ image: URL, _ values: [String: String] = [:], tta: [Int] = [1, 1]) throws -> [[Double]] {
        try zip(["a.safetensors", "b.safetensors"], tta).map { name, tta in
            let p = try Predictor(modelFile: directory.appendingPathComponent(name))
            let vector = p.takesMetadata ? [try p.encodeMetadata(values).vector] : nil
            return try p.probabilities([p.view(of: image)], metadata: vector, tta: tta)[0]
        }
    }

    private func mean(_ rows: [[Double]], _ weights: [Double]) -> [Double] {
        rows[0].indices.map { c in zip(rows, weights).reduce(0) { $0 + $1.1 * $1.0[c] } / weights.reduce(0, +) }
    }

    private func geometric(_ rows: [[Double]]) -> [Double] {
        let values = rows[0].indices.map { c in exp(rows.reduce(0) { $0 + log($1[c]) } / Double(rows.count)) }
        return values.map { $0 / values.reduce(0, +) }
    }

    private func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], String($0)) }
    }

    private func assertClose(_ a: [Double]?, _ b: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let a, a.count == b.count else { return XCTFail("\(what): \(String(describing: a)) vs \(b)", file: file, line: line) }
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5, what, file: file, line: line) }
    }

    /// A manifest's weights (1, 3) and TTA (1, 8) on one image with `--metadata`, which only `b`
    /// encodes; `--json` lists each member beside the weighted mean; the text form and
    /// `--cam` (the first member's Grad-CAM, said on stderr) work on the same ensemble.
    func testManifestWeightsTTAAndMetadataOnOneImage() throws {
        let ensemble = try manifest("ensemble.json", #"""
            {"members": [{"model": "a.safetensors"}, {"model": "b.safetensors", "weight": 3, "tta": 8}], "combination": "mean"}
            """#)
        let run = try predict(["--ensemble", ensemble, "--image", images[0].path, "--json", "--metadata", "age=60,site=back"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let line = try XCTUnwrap(try jsonLines(run.stdout).first)
        let rows = try alone(images[0], ["age": "60", "site": "back"], tta: [1, 8])
        let combined = mean(rows, [1, 3])
        assertClose(line["probabilities"] as? [Double], combined, "weighted mean of the members alone")
        let members = try XCTUnwrap(line["members"] as? [[String: Any]], run.stdout)
        XCTAssertEqual(members.map { $0["model"] as? String }, ["a.safetensors", "b.safetensors"])
        XCTAssertEqual(members.map { $0["tta"] as? Int }, [1, 8])
        for (m, row) in rows.enumerated() { assertClose(members[m]["probabilities"] as? [Double], row, "member \(m)") }
        XCTAssertEqual(line["confidence"] as? Double ?? 0, combined.max()!, accuracy: 1e-5)
        XCTAssertEqual(line["lowConfidence"] as? Bool, (line["confidence"] as? Double ?? 0) < 0.5, "flagged on the ensemble's probability")
        XCTAssertEqual(line["calibrated"] as? Bool, false, "b has no temperature")

        let cam = path("cam.png")
        let text = try predict(["--ensemble", ensemble, "--image", images[0].path, "--metadata", "age=60", "--cam", cam, "--low-confidence", "1"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("LOW CONFIDENCE"), text.stdout)
        XCTAssertTrue(text.stdout.contains("member a.safetensors: ") && text.stdout.contains("member b.safetensors: "), text.stdout)
        XCTAssertTrue(text.stderr.contains("Grad-CAM of the first member, a.safetensors, for the ensemble's top class"), text.stderr)
        XCTAssertNotNil(try? ImageDecoder.decode(contentsOf: URL(fileURLWithPath: cam)), "the overlay is a PNG")

        let site = try predict(["--ensemble", ensemble, "--image", images[0].path, "--metadata", "sex=male"])
        XCTAssertNotEqual(site.status, 0)
        XCTAssertTrue(site.stderr.contains("unknown metadata field 'sex'; this model takes age, site"), site.stderr)
    }

    /// `--model a --model b --combination geometric` on a folder is CSV (6 decimals) of the
    /// geometric mean; the prompt reads paths and answers each with the (default) mean.
    func testModelListOnAFolderAndAtThePrompt() throws {
        let csv = try predict(["--model", path("a.safetensors"), "--model", path("b.safetensors"), "--combination", "geometric",
                               "--image", directory.appendingPathComponent("images").path])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let lines = csv.stdout.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(lines.first, ["image", "top", "confidence", "low_confidence"] + Self.classes)
        XCTAssertEqual(lines.count, 4, csv.stdout)
        for (image, row) in zip(images, lines.dropFirst()) {
            XCTAssertEqual(row[0], image.path)
            assertClose(row[4...].map { Double($0)! }, geometric(try alone(image)), "\(image.lastPathComponent): geometric mean")
        }

        let prompt = try predict(["--model", path("a.safetensors"), "--model", path("b.safetensors"), "--json"],
                                 stdin: "\(images[1].path)\n\n'\(images[2].path)'\n")
        XCTAssertEqual(prompt.status, 0, prompt.stderr)
        let answers = try jsonLines(prompt.stdout)
        XCTAssertEqual(answers.count, 2, prompt.stdout)
        for (image, answer) in zip(images[1...], answers) {
            assertClose(answer["probabilities"] as? [Double], mean(try alone(image), [1, 1]), "\(image.lastPathComponent) at the prompt")
        }
    }

    /// Rank ranks a folder's images against each other (ties impossible here); one image, or
    /// the prompt, is refused before any work.
    func testRankOnAFolderAndRefusedForOneImage() throws {
        let ensemble = try manifest("rank.json", #"{"members": [{"model": "a.safetensors", "weight": 2}, {"model": "b.safetensors"}], "combination": "rank"}"#)
        let run = try predict(["--ensemble", ensemble, "--image", directory.appendingPathComponent("images").path, "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = try jsonLines(run.stdout)
        XCTAssertEqual(lines.count, 3, run.stdout)
        let rows = try images.map { try alone($0) }
        for i in 0..<3 {
            let scores = Self.classes.indices.map { c in
                [2.0, 1.0].enumerated().reduce(0) { sum, member in
                    sum + member.element * Double(1 + rows.filter { $0[member.offset][c] < rows[i][member.offset][c] }.count) / 3
                } / 3
            }
            assertClose(lines[i]["probabilities"] as? [Double], scores.map { $0 / scores.reduce(0, +) }, "image \(i)'s weighted ranks")
        }
        let one = try predict(["--ensemble", ensemble, "--image", images[0].path])
        XCTAssertNotEqual(one.status, 0)
        XCTAssertTrue(one.stderr.contains("the rank combination ranks images against each other: give --image FOLDER"), one.stderr)
    }

    /// Bad manifests name the manifest and the field; members with other classes name both
    /// files; `--tta` and `--combination` with a manifest are refused rather than ignored.
    func testBadManifestsAndMismatchedClassesAreClearErrors() throws {
        let cases: [(json: String, expected: String)] = [
            (#"{"members": [], "combination": "mean"}"#, "members: an ensemble has 1 to 64 members, got 0"),
            (#"{"members": [{"model": "a.safetensors"}, {"model": "b.safetensors", "weight": -1}], "combination": "mean"}"#,
             "members[1].weight (b.safetensors) must be positive, got -1.0"),
            (#"{"members": [{"model": "a.safetensors", "tta": 3}], "combination": "mean"}"#, "members[0].tta (a.safetensors) must be 1 or 8, got 3"),
            (#"{"members": [{"weight": 1}], "combination": "mean"}"#, "missing field members[0].model"),
            (#"{"members": [{"model": "a.safetensors"}], "combination": "median"}"#, "combination: "),
            (#"{"members": [{"model": "a.safetensors"}]"#, "not JSON"),
        ]
        for (index, item) in cases.enumerated() {
            let file = try manifest("bad-\(index).json", item.json)
            XCTAssertThrowsError(try EnsembleManifest.read(from: URL(fileURLWithPath: file))) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix(file + ": ") && text.contains(item.expected), "\(item.json): \(text)")
            }
        }
        let weight = try predict(["--ensemble", path("bad-1.json"), "--image", images[0].path])
        XCTAssertNotEqual(weight.status, 0)
        XCTAssertTrue(weight.stderr.contains("\(path("bad-1.json")): members[1].weight"), weight.stderr)

        let missing = try manifest("missing.json", #"{"members": [{"model": "a.safetensors"}, {"model": "gone.safetensors"}], "combination": "mean"}"#)
        let gone = try predict(["--ensemble", missing, "--image", images[0].path])
        XCTAssertNotEqual(gone.status, 0)
        XCTAssertTrue(gone.stderr.contains("gone.safetensors"), gone.stderr)

        try save("other.safetensors", seed: 5, size: 48, classes: ["akiec", "bcc", "nv"])
        let other = try predict(["--model", path("a.safetensors"), "--model", path("other.safetensors"), "--image", images[0].path])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("\(path("other.safetensors")): classes [\"akiec\", \"bcc\", \"nv\"] differ from"), other.stderr)
        XCTAssertTrue(other.stderr.contains("must predict the same classes in the same order"), other.stderr)

        let good = try manifest("good.json", #"{"members": [{"model": "a.safetensors"}], "combination": "mean"}"#)
        let tta = try predict(["--ensemble", good, "--tta", "8", "--image", images[0].path])
        XCTAssertNotEqual(tta.status, 0)
        XCTAssertTrue(tta.stderr.contains("--tta goes with --model"), tta.stderr)
        let combination = try predict(["--ensemble", good, "--combination", "rank", "--image", images[0].path])
        XCTAssertNotEqual(combination.status, 0)
        XCTAssertTrue(combination.stderr.contains("--combination goes with two or more --model; \(good) sets its own"), combination.stderr)
    }

    /// `serve` takes the same selection: the binary serves `--model a --model b --combination
    /// geometric`, says what it serves, and `/v1/model` describes the ensemble; SIGTERM stops it.
    func testServeCommandTakesTheSameSelection() async throws {
        let logs = directory.appendingPathComponent("serve")
        let process = try CommandLineTool.start(["serve", "--model", path("a.safetensors"), "--model", path("b.safetensors"),
                                                 "--combination", "geometric", "--port", "0"], logs: logs)
        defer { if process.isRunning { process.terminate() } }
        var port: Int?
        for _ in 0..<600 where port == nil {
            let text = (try? String(contentsOf: logs.appendingPathExtension("err"), encoding: .utf8)) ?? ""
            port = text.range(of: #"http://127\.0\.0\.1:(\d+)/"#, options: .regularExpression)
                .flatMap { Int(text[$0].dropFirst("http://127.0.0.1:".count).dropLast()) }
            if port == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let bound = try XCTUnwrap(port, "serve did not say where it listens")
        let stderr = try String(contentsOf: logs.appendingPathExtension("err"), encoding: .utf8)
        XCTAssertTrue(stderr.contains("serving \(path("a.safetensors")) + \(path("b.safetensors")) at"), stderr)
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(bound)/v1/model")!)
        let model = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let ensemble = try XCTUnwrap(model["ensemble"] as? [String: Any], String(decoding: data, as: UTF8.self))
        XCTAssertEqual(ensemble["combination"] as? String, "geometric")
        XCTAssertEqual((ensemble["members"] as? [[String: Any]])?.map { $0["input_size"] as? Int }, [64, 48])
        XCTAssertEqual((model["metadata_fields"] as? [[String: Any]])?.map { $0["name"] as? String }, ["age", "site"])
        process.terminate()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "SIGTERM drains and exits cleanly")
    }
}
