import Dermoscopy
import Foundation
import XCTest
@testable import Serving

/// A fusion model over real HTTP: /v1/model lists its fields, requests carry them as form
/// fields or query parameters, and bad or unknown values are answered clearly.
final class MetadataServingTests: XCTestCase {
    var harness: ServerHarness!

    override func setUp() async throws {
        let spec = try MetadataSpec(features: [
            MetadataFeature(name: "age", column: "age", numeric: NumericEncoding(scale: 0.05, shift: -2.5)),
            MetadataFeature(name: "sex", column: "sex", categorical: CategoricalEncoding(categories: ["female", "male"])),
            MetadataFeature(name: "site", column: "localization",
                            categorical: CategoricalEncoding(categories: ["back", "face", "upper extremity"], aliases: ["arm": "upper extremity"])),
        ])
        harness = try await ServerHarness(metadataSpec: spec)
    }

    override func tearDown() async throws {
        try await harness?.stop()
    }

    func testFieldsAreListedUsedAndCheckedOnEveryRoute() async throws {
        let model = try await harness.get("/v1/model")
        let fields = try XCTUnwrap(model.json["metadata_fields"] as? [[String: Any]])
        XCTAssertEqual(fields.map { $0["name"] as? String }, ["age", "sex", "site"])
        XCTAssertEqual(fields[2]["categories"] as? [String], ["back", "face", "upper extremity"])

        let image = try ServerHarness.hamImage()
        func top(_ reply: ServerHarness.Reply) -> [Double] { (reply.json["prediction"] as! [String: Any])["probabilities"] as! [Double] }
        let young = try await harness.postMultipart("/v1/predict", files: [("image", image.name, image.data)],
                                                    fields: [("age", "20"), ("sex", "female"), ("site", "back")])
        XCTAssertEqual(young.status, 200, young.text)
        let old = try await harness.postMultipart("/v1/predict", files: [("image", image.name, image.data)],
                                                  fields: [("age", "85"), ("sex", "male"), ("localization", "arm")])
        XCTAssertEqual(old.status, 200, old.text)
        XCTAssertNotEqual(top(young), top(old), "the metadata must reach the model")
        let query = try await harness.post("/v1/predict?age=20&sex=female&site=back", body: image.data, contentType: "image/jpeg")
        XCTAssertEqual(query.status, 200, query.text)
        for (a, b) in zip(top(query), top(young)) { XCTAssertEqual(a, b, accuracy: 1e-9, "query parameters and form fields agree") }

        let unknown = try await harness.postMultipart("/v1/predict", files: [("image", image.name, image.data)], fields: [("site", "elbow")])
        XCTAssertEqual(unknown.status, 200, unknown.text)
        XCTAssertEqual((unknown.json["prediction"] as! [String: Any])["unknown_metadata"] as? [String], ["site=elbow"])
        let badField = try await harness.postMultipart("/v1/predict", files: [("image", image.name, image.data)], fields: [("weight", "80")])
        XCTAssertEqual(badField.status, 400)
        XCTAssertTrue(badField.text.contains("unknown metadata field 'weight'"), badField.text)
        let badNumber = try await harness.post("/v1/predict?age=old", body: image.data, contentType: "image/jpeg")
        XCTAssertEqual(badNumber.status, 400)
        XCTAssertTrue(badNumber.text.contains("metadata 'age' must be a number"), badNumber.text)

        let second = try ServerHarness.hamImage(1)
        let batch = try await harness.postMultipart("/v1/predict/batch", files: [("image", image.name, image.data), ("image", second.name, second.data)],
                                                    fields: [("age", "20"), ("age", "85"), ("sex", "female")])
        XCTAssertEqual(batch.status, 200, batch.text)
        let results = batch.json["results"] as! [[String: Any]]
        let first = (results[0]["prediction"] as! [String: Any])["probabilities"] as! [Double]
        let alone = try await harness.postMultipart("/v1/predict", files: [("image", image.name, image.data)],
                                                    fields: [("age", "20"), ("sex", "female")])
        for (a, b) in zip(first, top(alone)) { XCTAssertEqual(a, b, accuracy: 1e-6, "the n-th value goes with the n-th image") }
        let mismatched = try await harness.postMultipart("/v1/predict/batch", files: [("image", image.name, image.data), ("image", second.name, second.data)],
                                                         fields: [("age", "20"), ("age", "30"), ("age", "40")])
        XCTAssertEqual(mismatched.status, 400)

        let page = try await harness.get("/app.js")
        XCTAssertTrue(page.text.contains("metadata_fields"), "the page builds its form from /v1/model")
    }
}
