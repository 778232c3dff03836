import Foundation
import XCTest
@testable import Serving

/// The page in a real browser: headless Chromium picks a real HAM10000 image, and what it
/// renders must be the API's answer for that image. The screenshot is kept in
/// `.build/artifacts/serve-page.png` for a person to look at.
final class BrowserTests: XCTestCase {
    func testChromiumUploadsAnImageAndShowsTheResult() async throws {
        _ = try await page(of: { try await ServerHarness() }, screenshot: "serve-page.png")
    }

    /// An ensemble's page shows the combined answer, and its model line says what answers.
    func testChromiumShowsAnEnsemblesAnswer() async throws {
        let shown = try await page(of: { try await EnsembleServingTests.harness(.mean) }, screenshot: "serve-page-ensemble.png")
        XCTAssertTrue((shown["model_line"] as? String ?? "").contains("ensemble of 2 (mean; Grad-CAM: first member)"), "\(shown)")
    }

    /// What the page renders for a real image, checked against the API's answer for it.
    private func page(of serve: () async throws -> ServerHarness, screenshot name: String) async throws -> [String: Any] {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw XCTSkip("\(tool) not installed: run scripts/setup (Debian packages chromium, chromium-driver)")
        }
        try PythonTool.require(["selenium"])
        let image = try ServerHarness.hamImage(3)
        let harness = try await serve()
        let api = try await harness.post("/v1/predict", body: image.data, contentType: "image/jpeg")
        let artifacts = ServerHarness.repository.appendingPathComponent(".build/artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: screenshot)
        let imagePath = ServerHarness.hamImages.appendingPathComponent("HAM10000_images_part_1/\(image.name)").path
        let run = try PythonTool.run([harness.base.absoluteString + "/", imagePath, screenshot.path], script: "browser_check.py")
        try await harness.stop()
        XCTAssertEqual(run.status, 0, run.errors)
        let page = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any], run.output)

        let prediction = try XCTUnwrap(api.json["prediction"] as? [String: Any])
        let top = try XCTUnwrap(prediction["top"] as? String)
        XCTAssertTrue((page["status"] as? String ?? "").hasPrefix("Done"), "\(page)")
        XCTAssertTrue((page["top"] as? String ?? "").hasSuffix("(\(top))"), "page shows \(page["top"] ?? "") for API top \(top)")
        XCTAssertEqual(page["confidence"] as? String, String(format: "%.1f%%", 100 * (prediction["confidence"] as! Double)))
        XCTAssertEqual((page["bars"] as? [String])?.count, ServerHarness.classes.count)
        XCTAssertEqual(page["low_confidence_shown"] as? Bool, prediction["low_confidence"] as? Bool)
        XCTAssertEqual(page["cam_enabled"] as? Bool, true)
        XCTAssertEqual(page["cam_shown"] as? Bool, true)
        XCTAssertTrue((page["disclaimer"] as? String ?? "").contains("not a diagnostic device"))
        XCTAssertEqual(page["unlabelled_inputs"] as? [String], [], "every control has a label")
        let png = try Data(contentsOf: screenshot)
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        print("browser test: page shows \(page["top"] ?? "") \(page["confidence"] ?? ""); screenshot \(screenshot.path)")
        return page
    }
}
