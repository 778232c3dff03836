import Foundation
import Models
import XCTest
@testable import Serving

/// A model whose finite weights overflow on every image: the server answers 500 with a message
/// naming the image, and a batch gives each image that error, never a NaN probability.
final class NonFiniteServingTests: XCTestCase {
    func testOverflowIsAnErrorNamingTheImageNotANaN() async throws {
        let image = try ServerHarness.hamImage()
        let harness = try await ServerHarness(weights: { model in
            // The hidden BatchNorm's shift makes every hidden unit at least 3 after its ReLU, so
            // each logit sums 256 × 3 × 3e38.
            for (name, value) in [("_fc.1.bias", Float(3)), ("_fc.4.weight", 3e38)] {
                let parameter = try XCTUnwrap(model.namedParameters.first { $0.name == name }?.parameter)
                try parameter.assign([Float](repeating: value, count: parameter.count))
            }
        })
        do {
            let single = try await harness.postMultipart("/v1/predict", files: [("image", image.name, image.data)])
            XCTAssertEqual(single.status, 500, single.text)
            XCTAssertTrue(single.errorMessage.hasPrefix("\(image.name): the model's probability of akiec is NaN"), single.text)
            let raw = try await harness.post("/v1/predict", body: image.data, contentType: "image/jpeg")
            XCTAssertEqual(raw.status, 500, raw.text)
            XCTAssertTrue(raw.errorMessage.hasPrefix("upload: the model's probability"), raw.text)
            let batch = try await harness.postMultipart("/v1/predict/batch", files: [("images", "a.jpg", image.data),
                                                                                   ("images", "b.jpg", image.data)])
            XCTAssertEqual(batch.status, 200, batch.text)
            let errors = (batch.json["results"] as? [[String: Any]] ?? []).map { $0["error"] as? [String: Any] }
            XCTAssertEqual(errors.map { $0?["status"] as? Int }, [500, 500], batch.text)
            XCTAssertEqual(errors.map { ($0?["message"] as? String)?.prefix(6) }, ["a.jpg:", "b.jpg:"], batch.text)
            for reply in [single, raw, batch] { XCTAssertFalse(reply.text.lowercased().contains("\"nan\""), reply.text) }
        } catch {
            try await harness.stop()
            throw error
        }
        try await harness.stop()
    }
}
