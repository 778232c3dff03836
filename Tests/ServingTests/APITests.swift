import Foundation
import XCTest
@testable import Serving

/// Every endpoint over real HTTP, the errors for bad input, and the audit trail.
final class APITests: XCTestCase {
    var harness: ServerHarness!

    override func setUp() async throws {
        harness = try await ServerHarness { $0.maxUploadBytes = 1 << 20; $0.maxPixels = 4_000_000 }
    }

    override func tearDown() async throws {
        try await harness?.stop()
    }

    func testPredictRawAndMultipartAgreeAndCarryTheModelIdentity() async throws {
        let image = try ServerHarness.hamImage()
        let raw = try await harness.post("/v1/predict", body: image.data, contentType: "image/jpeg")
        XCTAssertEqual(raw.status, 200, raw.text)
        let multipart = try await harness.postMultipart("/v1/predict", files: [("image", image.name, image.data)])
        XCTAssertEqual(multipart.status, 200, multipart.text)
        let a = raw.json["prediction"] as! [String: Any], b = multipart.json["prediction"] as! [String: Any]
        XCTAssertEqual(a["probabilities"] as! [Double], b["probabilities"] as! [Double])
        XCTAssertEqual(b["name"] as? String, image.name)
        let probabilities = a["probabilities"] as! [Double]
        XCTAssertEqual(probabilities.reduce(0, +), 1, accuracy: 1e-9)
        XCTAssertEqual(a["classes"] as! [String], ServerHarness.classes)
        let top = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
        XCTAssertEqual(a["top"] as? String, ServerHarness.classes[top])
        XCTAssertEqual(a["confidence"] as! Double, probabilities[top])
        XCTAssertEqual(a["calibrated"] as? Bool, true)
        XCTAssertEqual(a["low_confidence"] as? Bool, probabilities[top] < 0.5)
        XCTAssertNil(a["cam"])
        let model = raw.json["model"] as! [String: String]
        let fileDigest = SHA256.hex(try Data(contentsOf: harness.modelFile))
        XCTAssertEqual(model["id"], String(fileDigest.prefix(16)))
        XCTAssertEqual(model["version"], "lesions-v3")
        XCTAssertEqual(model["architecture"], "efficientnet-lite0")
        XCTAssertTrue((raw.json["intended_use"] as? String ?? "").contains("not medical devices"))
        let timing = raw.json["timing"] as! [String: Double]
        XCTAssertGreaterThanOrEqual(timing["total_ms"]!, timing["decode_ms"]!)
    }

    func testTTAAndGradCAM() async throws {
        let image = try ServerHarness.hamImage(1)
        let reply = try await harness.post("/v1/predict?tta=8&cam=true", body: image.data, contentType: "application/octet-stream")
        XCTAssertEqual(reply.status, 200, reply.text)
        let prediction = reply.json["prediction"] as! [String: Any]
        XCTAssertEqual(prediction["tta"] as? Int, 8)
        let cam = try XCTUnwrap(prediction["cam"] as? String)
        XCTAssertTrue(cam.hasPrefix("data:image/png;base64,"))
        let png = try XCTUnwrap(Data(base64Encoded: String(cam.dropFirst("data:image/png;base64,".count))))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let plain = try await harness.post("/v1/predict", body: image.data, contentType: "image/jpeg")
        XCTAssertNotEqual(plain.json["prediction"].flatMap { ($0 as? [String: Any])?["probabilities"] as? [Double] },
                          prediction["probabilities"] as? [Double], "8 views average differently from one")
    }

    func testBatchAnswersEveryImageAndIsolatesBadOnes() async throws {
        let first = try ServerHarness.hamImage(0), second = try ServerHarness.hamImage(2)
        let truncated = first.data.prefix(4000)
        let reply = try await harness.postMultipart("/v1/predict/batch", files: [
            ("images", first.name, first.data), ("images", "cut.jpg", Data(truncated)), ("images", second.name, second.data),
        ])
        XCTAssertEqual(reply.status, 200, reply.text)
        let results = reply.json["results"] as! [[String: Any]]
        XCTAssertEqual(results.count, 3)
        XCTAssertEqual((results[0]["prediction"] as? [String: Any])?["name"] as? String, first.name)
        XCTAssertEqual((results[1]["error"] as? [String: Any])?["status"] as? Int, 422)
        XCTAssertTrue(((results[1]["error"] as? [String: Any])?["message"] as? String ?? "").contains("cut.jpg"))
        XCTAssertEqual((results[2]["prediction"] as? [String: Any])?["name"] as? String, second.name)
        let single = try await harness.post("/v1/predict", body: first.data, contentType: "image/jpeg")
        let inBatch = try XCTUnwrap((results[0]["prediction"] as? [String: Any])?["probabilities"] as? [Double])
        let alone = try XCTUnwrap((single.json["prediction"] as? [String: Any])?["probabilities"] as? [Double])
        for (a, b) in zip(inBatch, alone) {
            XCTAssertEqual(a, b, accuracy: 1e-6, "an image in a batch gets the answer it gets alone (up to float rounding)")
        }
    }

    func testBadInputGetsA4xxJSONErrorThatSaysWhy() async throws {
        let image = try ServerHarness.hamImage()
        let png = Self.pngHeader(width: 100_000, height: 100_000)
        let cases: [(String, Data, String?, Int, String)] = [
            ("empty body", Data(), "image/jpeg", 400, "empty body"),
            ("not an image", Data("just some text, not pixels".utf8), "image/jpeg", 415, "not a JPEG or PNG"),
            ("truncated JPEG", image.data.prefix(5000), "image/jpeg", 422, "truncated"),
            ("huge dimensions", png, "image/png", 422, "over the limit of 4000000 pixels"),
            ("wrong content type", image.data, "application/json", 415, "Content-Type 'application/json' is not accepted"),
            ("oversize body", Data(count: 2 << 20), "image/jpeg", 413, "over the limit of 1048576 bytes"),
            ("multipart without boundary", image.data, "multipart/form-data", 400, "boundary"),
        ]
        for (label, body, type, status, words) in cases {
            let reply = try await harness.post("/v1/predict", body: body, contentType: type)
            XCTAssertEqual(reply.status, status, "\(label): \(reply.text)")
            XCTAssertTrue(reply.headers["content-type"]?.hasPrefix("application/json") ?? false, label)
            XCTAssertTrue(reply.errorMessage.contains(words), "\(label): '\(reply.errorMessage)' lacks '\(words)'")
            XCTAssertEqual((reply.json["error"] as? [String: Any])?["status"] as? Int, status, label)
        }
        let badTTA = try await harness.post("/v1/predict?tta=3", body: image.data, contentType: "image/jpeg")
        XCTAssertEqual(badTTA.status, 400)
        XCTAssertTrue(badTTA.errorMessage.contains("tta must be 1 or 8"))
        let two = try await harness.postMultipart("/v1/predict", files: [("a", "a.jpg", image.data), ("b", "b.jpg", image.data)])
        XCTAssertEqual(two.status, 400)
        XCTAssertTrue(two.errorMessage.contains("/v1/predict/batch"))
    }

    func testModelHealthMetricsAndPage() async throws {
        let model = try await harness.get("/v1/model")
        XCTAssertEqual(model.status, 200)
        XCTAssertEqual(model.json["classes"] as? [String], ServerHarness.classes)
        XCTAssertEqual(model.json["input_size"] as? Int, 64)
        XCTAssertEqual(model.json["temperature"] as? Double, 1.5)
        XCTAssertTrue((model.json["card"] as? String ?? "").contains("not a diagnostic device") ||
                      (model.json["card"] as? String ?? "").contains("Research use only"))
        let card = try await harness.get("/v1/model/card")
        XCTAssertEqual(card.status, 200)
        XCTAssertEqual(card.text, model.json["card"] as? String)
        let licenses = model.json["data_licenses"] as? [[String: String]]
        XCTAssertEqual(licenses, [["dataset": "ham10000", "license": "CC BY-NC 4.0", "basis": "HAM10000 layout"]])
        XCTAssertTrue(card.text.contains("## Licence of the data\n\n- ham10000: CC BY-NC 4.0 (HAM10000 layout)"), card.text)
        XCTAssertTrue(card.text.contains("carries that non-commercial term"), card.text)
        let health = try await harness.get("/healthz"), ready = try await harness.get("/readyz")
        XCTAssertEqual(health.json["status"] as? String, "ok")
        XCTAssertEqual(ready.json["status"] as? String, "ready")

        _ = try await harness.post("/v1/predict", body: try ServerHarness.hamImage().data, contentType: "image/jpeg")
        _ = try await harness.post("/v1/predict", body: Data(), contentType: "image/jpeg")
        let metrics = try await harness.get("/metrics")
        XCTAssertTrue(metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") ?? false)
        XCTAssertTrue(metrics.text.contains("skinlesion_requests_total{route=\"/v1/predict\",status=\"200\"} 1\n"), metrics.text)
        XCTAssertTrue(metrics.text.contains("skinlesion_requests_total{route=\"/v1/predict\",status=\"400\"} 1\n"))
        XCTAssertTrue(metrics.text.contains("skinlesion_request_duration_seconds_count{route=\"/v1/predict\"} 2\n"))
        XCTAssertTrue(metrics.text.contains("# TYPE skinlesion_batch_images histogram"))

        let page = try await harness.get("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.headers["content-type"]?.hasPrefix("text/html") ?? false)
        for needle in ["Research tool, not a diagnostic device", "href=\"/v1/model/card\"", "accept=\"image/*\" capture",
                       "<label class=\"button\" for=\"file-input\">", "src=\"/app.js\""] {
            XCTAssertTrue(page.text.contains(needle), needle)
        }
        XCTAssertFalse(page.text.contains("http://") || page.text.contains("https://"), "no third-party assets")
        let script = try await harness.get("/app.js"), style = try await harness.get("/style.css")
        XCTAssertEqual(script.status, 200)
        XCTAssertEqual(style.status, 200)
    }

    /// One audit line per API request, with the input's SHA-256 and never the image or its name.
    func testAuditLineHasDigestVersionResultAndLatencyButNoFileName() async throws {
        let image = try ServerHarness.hamImage()
        _ = try await harness.postMultipart("/v1/predict", files: [("image", "patient-jane-doe.jpg", image.data)])
        _ = try await harness.post("/v1/predict", body: Data("not an image".utf8), contentType: "image/png")
        let lines = harness.audit.requests
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(lines[0]["input_sha256"]?.description, SHA256.hex(image.data))
        XCTAssertEqual(lines[0]["model_version"]?.description, "lesions-v3")
        XCTAssertEqual(lines[0]["status"]?.description, "200")
        XCTAssertNotNil(lines[0]["latency_ms"].flatMap { Double($0.description) })
        XCTAssertTrue(ServerHarness.classes.contains { lines[0]["result"]?.description.hasPrefix($0) ?? false })
        XCTAssertEqual(lines[1]["status"]?.description, "415")
        XCTAssertEqual(lines[1]["input_sha256"]?.description, SHA256.hex(Data("not an image".utf8)))
        XCTAssertFalse(harness.audit.allText.contains("jane-doe"), "file names never reach the logs")
    }

    /// A PNG whose header claims `width` × `height` (valid CRCs, no pixel data): the server
    /// must refuse it from the header, before allocating anything.
    static func pngHeader(width: UInt32, height: UInt32) -> Data {
        func be(_ v: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }
        func crc(_ bytes: [UInt8]) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                c ^= UInt32(byte)
                for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            }
            return ~c
        }
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        for (type, data) in [("IHDR", be(width) + be(height) + [8, 2, 0, 0, 0]), ("IEND", [])] {
            let typed = Array(type.utf8) + data
            file += be(UInt32(data.count)) + typed + be(crc(typed))
        }
        return Data(file)
    }
}
