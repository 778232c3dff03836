import Foundation
import XCTest
import Dermoscopy

/// Shared by the dataset, split, sampling and inspection tests: where the real data is (tests skip, saying
/// so, when it is absent) and throwaway directories for hand-made fixtures.
enum DatasetFixtures {
    /// `../shared/data` beside the repository root (this file is `Tests/DermoscopyTests/…`).
    static let sharedData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data")

    static func realData(_ relativePath: String) throws -> URL {
        let url = sharedData.appendingPathComponent(relativePath)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("real data not found at \(url.path) (see ../shared/data/README.md)")
        }
        return url
    }

    static func hamSample() throws -> Dataset {
        try DatasetLoader.load(realData("ham10000-sample"))
    }

    /// A fresh directory, removed when `test` ends.
    static func temporaryDirectory(for test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dermoscopy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    static func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// Empty files standing in for images: the loader only needs them to exist.
    static func touch(_ paths: [String], in directory: URL) throws {
        for path in paths { try write("", to: directory.appendingPathComponent(path)) }
    }

    static func labelCounts(_ records: [DatasetRecord]) -> [String: Int] {
        records.reduce(into: [:]) { $0[$1.label, default: 0] += 1 }
    }

    /// A dataset built in memory: `groups` lists (label, images in the group) per lesion.
    static func synthetic(_ groups: [(label: String, images: Int)]) -> Dataset {
        var records: [DatasetRecord] = []
        for (g, group) in groups.enumerated() {
            for i in 0..<group.images {
                records.append(DatasetRecord(imageID: "IMG_\(g)_\(i)", path: "\(g)_\(i).jpg", label: group.label, lesionID: "L\(g)"))
            }
        }
        return Dataset(root: URL(fileURLWithPath: "/nonexistent"), format: .csvManifest, records: records)
    }
}
