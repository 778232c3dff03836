import Dermoscopy
import Foundation
import Inference
import Models
import XCTest
@testable import Serving

/// `serve` over an ensemble, over real HTTP: the harness's model (EfficientNet-Lite0, 64×64,
/// its own preprocessing, temperature 1.5) and a second one at 48×48 with ImageNet
/// preprocessing and weight 2 (optionally fusing age and sex). Every answer is checked against
/// each member run alone, as a Predictor, on the same bytes, combined by hand.
final class EnsembleServingTests: XCTestCase {
    static let spec = try! MetadataSpec(features: [
        MetadataFeature(name: "age", column: "age", numeric: NumericEncoding(scale: 0.05, shift: -2.5)),
        MetadataFeature(name: "sex", column: "sex", categorical: CategoricalEncoding(categories: ["female", "male"])),
    ])

    /// Serves `[harness model (weight 1), second (weight 2, tta `secondTTA`)]` combined by `combination`.
    static func harness(_ combination: EnsembleManifest.Combination, secondTTA: Int = 1, fusing: Bool = false) async throws -> ServerHarness {
        try await ServerHarness(ensemble: { directory, first in
            let second = directory.appendingPathComponent("second.safetensors")
            let fusion = fusing ? MetadataFusion(inputs: Self.spec.width, hidden: [8]) : nil
            let model = try Architectures.named("efficientnet-lite0").build(classes: ServerHarness.classes.count, fusion: fusion, seed: 11)
            var metadata = ModelMetadata(architecture: model.architecture.name, classNames: ServerHarness.classes, head: model.head,
                                         inputSize: 48, preprocessing: .imagenet)
            metadata.metadataSpec = fusing ? Self.spec : nil
            metadata.fusion = fusion
            try ModelFile.save(model, metadata: metadata, to: second)
            let manifest = EnsembleManifest(members: [.init(model: first.lastPathComponent), .init(model: "second.safetensors", weight: 2, tta: secondTTA)],
                                            combination: combination)
            return try Ensemble(manifest: manifest, relativeTo: directory)
        })
    }

    /// Each member alone on `data` with `values`, at `tta[m]`: `[member][class]`.
    private func alone(_ harness: ServerHarness, _ data: Data, _ values: [String: String] = [:], tta: [Int]) throws -> [[Double]] {
        try zip([harness.modelFile, harness.directory.appendingPathComponent("second.safetensors")], tta).map { file, tta in
            let p = try Predictor(modelFile: file)
            let vector = p.takesMetadata ? [try p.encodeMetadata(values).vector] : nil
            return try p.probabilities([p.view(of: data, name: "x", limits: .standard)], metadata: vector, tta: tta)[0]
        }
    }

    private func body(_ reply: ServerHarness.Reply) -> [String: Any] { reply.json["prediction"] as? [String: Any] ?? [:] }

    private func assertClose(_ a: [Double]?, _ b: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let a, a.count == b.count else { return XCTFail("\(what): \(String(describing: a)) vs \(b)", file: file, line: line) }
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5, what, file: file, line: line) }
    }

    private func members(_ prediction: [String: Any]) -> [[String: Any]] { prediction["members"] as? [[String: Any]] ?? [] }

    /// Weighted mean (weights 1, 2); the reply lists both members beside the combination, at
    /// their own TTA; /v1/model describes the ensemble; /metrics counts; the OpenAPI document
    /// holds for every reply.
    func testMeanEnsembleAnswersTheHandCombinedMembers() async throws {
        try PythonTool.require(["jsonschema"])
        let harness = try await Self.harness(.mean, secondTTA: 8)
        let image = try ServerHarness.hamImage()
        var exchanges: [[String: Any]] = []

        let model = try await harness.get("/v1/model")
        exchanges.append(ContractTests.exchange("get", "/v1/model", model))
        let ensemble = try XCTUnwrap(model.json["ensemble"] as? [String: Any], model.text)
        XCTAssertEqual(ensemble["combination"] as? String, "mean")
        let described = try XCTUnwrap(ensemble["members"] as? [[String: Any]])
        XCTAssertEqual(described.map { $0["weight"] as? Double }, [1, 2])
        XCTAssertEqual(described.map { $0["input_size"] as? Int }, [64, 48])
        XCTAssertEqual(described.map { $0["tta"] as? Int }, [1, 8])
        XCTAssertEqual(described.map { $0["file"] as? String }, ["lesions-v3.safetensors", "second.safetensors"])
        XCTAssertEqual((model.json["model"] as? [String: Any])?["architecture"] as? String, "ensemble(efficientnet-lite0+efficientnet-lite0)")
        XCTAssertNil(model.json["temperature"], "a combination has no single temperature")
        let card = try await harness.get("/v1/model/card")
        XCTAssertTrue(card.text.hasPrefix("# Ensemble of 2 models (mean)"), card.text)

        let reply = try await harness.post("/v1/predict", body: image.data, contentType: "image/jpeg")
        exchanges.append(ContractTests.exchange("post", "/v1/predict", reply))
        XCTAssertEqual(reply.status, 200, reply.text)
        let rows = try alone(harness, image.data, tta: [1, 8])
        let p = body(reply)
        assertClose(p["probabilities"] as? [Double], (0..<7).map { (rows[0][$0] + 2 * rows[1][$0]) / 3 }, "weighted mean")
        XCTAssertEqual(members(p).map { $0["tta"] as? Int }, [1, 8])
        for (m, row) in rows.enumerated() { assertClose(members(p)[m]["probabilities"] as? [Double], row, "member \(m) alone") }
        let combined = p["probabilities"] as? [Double] ?? []
        XCTAssertEqual(p["confidence"] as? Double, combined.max())
        XCTAssertEqual(p["low_confidence"] as? Bool, combined.max()! < 0.5, "flagged on the ensemble's probability")
        XCTAssertEqual(p["calibrated"] as? Bool, false, "only the first member is calibrated")

        let eight = try await harness.post("/v1/predict?tta=8&cam=true", body: image.data, contentType: "image/jpeg")
        exchanges.append(ContractTests.exchange("post", "/v1/predict", eight))
        XCTAssertEqual(eight.status, 200, eight.text)
        let rows8 = try alone(harness, image.data, tta: [8, 8])
        assertClose(body(eight)["probabilities"] as? [Double], (0..<7).map { (rows8[0][$0] + 2 * rows8[1][$0]) / 3 }, "tta=8 for every member")
        XCTAssertTrue((body(eight)["cam"] as? String)?.hasPrefix("data:image/png;base64,") ?? false)

        let second = try ServerHarness.hamImage(1)
        let batch = try await harness.postMultipart("/v1/predict/batch", files: [("image", image.name, image.data), ("image", second.name, second.data)])
        exchanges.append(ContractTests.exchange("post", "/v1/predict/batch", batch))
        let results = batch.json["results"] as? [[String: Any]] ?? []
        XCTAssertEqual(results.count, 2, batch.text)
        let secondRows = try alone(harness, second.data, tta: [1, 8])
        assertClose((results.last?["prediction"] as? [String: Any])?["probabilities"] as? [Double],
                    (0..<7).map { (secondRows[0][$0] + 2 * secondRows[1][$0]) / 3 }, "a batch's second image")

        let metrics = try await harness.get("/metrics")
        XCTAssertTrue(metrics.text.contains("skinlesion_requests_total{route=\"/v1/predict\",status=\"200\"} 2\n"), metrics.text)
        let document = try await harness.get("/openapi.json")
        try await harness.stop()
        let result = try ContractTests.check(exchanges, against: document.body)
        XCTAssertEqual(result.status, 0, "ensemble responses that break the contract:\n\(result.output)\(result.errors)")
    }

    /// Geometric mean with a second member that fuses age and sex: /v1/model lists the union of
    /// the fields, each member encodes them with its own spec, and a field no member takes is 400.
    func testGeometricEnsembleWithAMetadataMember() async throws {
        let harness = try await Self.harness(.geometric, fusing: true)
        let image = try ServerHarness.hamImage()
        let model = try await harness.get("/v1/model")
        XCTAssertEqual((model.json["metadata_fields"] as? [[String: Any]])?.map { $0["name"] as? String }, ["age", "sex"])
        let reply = try await harness.postMultipart("/v1/predict", files: [("image", image.name, image.data)], fields: [("age", "70"), ("sex", "other")])
        XCTAssertEqual(reply.status, 200, reply.text)
        let rows = try alone(harness, image.data, ["age": "70", "sex": "other"], tta: [1, 1])
        let geometric = (0..<7).map { exp((log(rows[0][$0]) + 2 * log(rows[1][$0])) / 3) }
        let total = geometric.reduce(0, +)
        assertClose(body(reply)["probabilities"] as? [Double], geometric.map { $0 / total }, "weighted geometric mean, renormalised")
        XCTAssertEqual(body(reply)["unknown_metadata"] as? [String], ["sex=other"])
        let without = try alone(harness, image.data, tta: [1, 1])
        XCTAssertNotEqual(without[1], rows[1], "the metadata reaches the fusion member")
        let bad = try await harness.postMultipart("/v1/predict", files: [("image", image.name, image.data)], fields: [("site", "back")])
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.errorMessage.contains("unknown metadata field 'site'; this model takes age, sex"), bad.text)
        try await harness.stop()
    }

    /// Rank ranks the images of one request: a batch of three matches ranks computed by hand;
    /// one image alone is refused with where to send it instead.
    func testRankEnsembleRanksTheImagesOfABatch() async throws {
        let harness = try await Self.harness(.rank)
        let images = try (0..<3).map { try ServerHarness.hamImage($0) }
        let batch = try await harness.postMultipart("/v1/predict/batch", files: images.map { ("image", $0.name, $0.data) })
        XCTAssertEqual(batch.status, 200, batch.text)
        let rows = try images.map { try alone(harness, $0.data, tta: [1, 1]) }
        func rank(_ m: Int, _ c: Int, _ i: Int) -> Double {
            Double(1 + rows.filter { $0[m][c] < rows[i][m][c] }.count) / 3
        }
        let results = batch.json["results"] as? [[String: Any]] ?? []
        for i in 0..<3 {
            let scores = (0..<7).map { c in (rank(0, c, i) + 2 * rank(1, c, i)) / 3 }
            let total = scores.reduce(0, +)
            assertClose((results[i]["prediction"] as? [String: Any])?["probabilities"] as? [Double], scores.map { $0 / total }, "image \(i)'s ranks")
        }
        let one = try await harness.post("/v1/predict", body: images[0].data, contentType: "image/jpeg")
        XCTAssertEqual(one.status, 400)
        XCTAssertTrue(one.errorMessage.contains("send two or more to /v1/predict/batch"), one.text)
        try await harness.stop()
    }
}
