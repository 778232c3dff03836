import Foundation
import XCTest
@testable import Serving

/// The API answers as its OpenAPI document says: real responses of every documented route
/// and status the tests can provoke, validated by jsonschema (tools/check_openapi.py).
final class ContractTests: XCTestCase {
    func testRealResponsesMatchTheOpenAPIDocument() async throws {
        try PythonTool.require(["jsonschema"])
        let harness = try await ServerHarness { $0.maxUploadBytes = 1 << 20 }
        let image = try ServerHarness.hamImage()
        var exchanges: [[String: Any]] = []
        func record(_ method: String, _ path: String, _ reply: ServerHarness.Reply) { exchanges.append(Self.exchange(method, path, reply)) }
        for path in ["/v1/model", "/v1/model/card", "/healthz", "/readyz", "/metrics"] {
            record("get", path, try await harness.get(path))
        }
        for (query, type, body) in [("", "image/jpeg", image.data), ("?tta=8&cam=true", "application/octet-stream", image.data),
                                    ("?tta=5", "image/jpeg", image.data), ("", "image/jpeg", Data()),
                                    ("", "image/jpeg", Data("text".utf8)), ("", "image/jpeg", image.data.prefix(3000)),
                                    ("", "text/csv", image.data), ("", "image/jpeg", Data(count: 2 << 20))] {
            record("post", "/v1/predict", try await harness.post("/v1/predict" + query, body: body, contentType: type))
        }
        record("post", "/v1/predict", try await harness.postMultipart("/v1/predict", files: [("image", image.name, image.data)]))
        record("post", "/v1/predict/batch", try await harness.postMultipart("/v1/predict/batch", files: [
            ("images", image.name, image.data), ("images", "bad.png", Data("nope".utf8)),
        ]))
        record("post", "/v1/predict/batch", try await harness.post("/v1/predict/batch?cam=true", body: image.data, contentType: "image/jpeg"))
        let served = try await harness.get("/openapi.json")
        try await harness.stop()

        XCTAssertEqual(served.text, OpenAPIDocument.json, "/openapi.json serves the document kept in the repository")
        let statuses = Set(exchanges.map { $0["status"] as! Int })
        XCTAssertTrue(statuses.isSuperset(of: [200, 400, 413, 415, 422]), "\(statuses)")
        let result = try Self.check(exchanges, against: served.body)
        XCTAssertEqual(result.status, 0, "responses that break the contract:\n\(result.output)\(result.errors)")
        print("OpenAPI contract: \(result.errors.trimmingCharacters(in: .whitespacesAndNewlines))")
    }

    /// Validates recorded exchanges against the document with tools/check_openapi.py.
    static func check(_ exchanges: [[String: Any]], against document: Data) throws -> (status: Int32, output: String, errors: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skinlesion-openapi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let documentFile = directory.appendingPathComponent("openapi.json"), recorded = directory.appendingPathComponent("exchanges.json")
        try document.write(to: documentFile)
        try JSONSerialization.data(withJSONObject: exchanges).write(to: recorded)
        return try PythonTool.run([documentFile.path, recorded.path], script: "check_openapi.py")
    }

    /// One exchange as check_openapi.py reads it.
    static func exchange(_ method: String, _ path: String, _ reply: ServerHarness.Reply) -> [String: Any] {
        ["method": method, "path": path.components(separatedBy: "?")[0], "status": reply.status,
         "content_type": reply.headers["content-type"] ?? "", "headers": reply.headers, "body": reply.text]
    }
}
