import Foundation
import XCTest
import Dermoscopy

final class InspectTests: XCTestCase {
    private struct Unreadable: Error, CustomStringConvertible {
        var description: String { "not a JPEG" }
    }

    func testInspectingHAMWithAStubSize() throws {
        let dataset = try DatasetFixtures.hamSample()
        let report = DatasetInspector.inspect(dataset) { _ in (600, 450) }
        XCTAssertEqual(report.images, 263)
        XCTAssertEqual(report.lesions, 256)
        XCTAssertEqual(report.classes, dataset.classes)
        XCTAssertEqual(report.classCounts, [.init(split: "all", counts: [14, 17, 19, 11, 82, 107, 13])])
        XCTAssertEqual(report.imagesPerLesion, [1: 250, 2: 5, 3: 1])
        XCTAssertEqual(report.duplicates, [])
        XCTAssertEqual(report.missingFiles, [])
        XCTAssertEqual(report.unreadableFiles, [])
        let sizes = try XCTUnwrap(report.imageSizes)
        XCTAssertEqual(sizes.measured, 263)
        XCTAssertEqual([sizes.minWidth, sizes.maxWidth, sizes.minHeight, sizes.maxHeight], [600, 600, 450, 450])
        XCTAssertEqual(sizes.meanWidth, 600)
        XCTAssertEqual(sizes.mostCommon, [.init(width: 600, height: 450, count: 263)])

        let text = report.formatted()
        XCTAssertTrue(text.hasPrefix("263 images, 256 lesions, 7 classes"), text)
        XCTAssertTrue(text.contains("\nmel     82\n"), text)
        XCTAssertTrue(text.contains("\ntotal  263\n"), text)
        XCTAssertTrue(text.contains("1 image: 250, 2 images: 5, 3 images: 1"), text)
        XCTAssertTrue(text.contains("600×450 (263)"), text)
    }

    func testAnImageWhoseSizeCannotBeReadIsUnreadable() throws {
        let dataset = try DatasetFixtures.hamSample()
        let report = DatasetInspector.inspect(dataset) { url in
            if url.lastPathComponent == "ISIC_0024310.jpg" { throw Unreadable() }
            return url.lastPathComponent == "ISIC_0024306.jpg" ? (450, 600) : (600, 450)
        }
        XCTAssertEqual(report.unreadableFiles, [.init(path: "HAM10000_images_part_1/ISIC_0024310.jpg", reason: "not a JPEG")])
        let sizes = try XCTUnwrap(report.imageSizes)
        XCTAssertEqual(sizes.measured, 262)
        XCTAssertEqual([sizes.minWidth, sizes.maxWidth, sizes.minHeight, sizes.maxHeight], [450, 600, 450, 600])
        XCTAssertEqual(sizes.mostCommon.map(\.count), [261, 1])
        XCTAssertTrue(report.formatted().contains("unreadable files (1):\n  HAM10000_images_part_1/ISIC_0024310.jpg: not a JPEG"))
    }

    func testPerSplitCountsWithAManifestAndSampledSizes() throws {
        let dataset = try DatasetFixtures.hamSample()
        let manifest = try Splitter.split(dataset, plan: SplitPlan(seed: 42))
        var calls = 0
        let report = DatasetInspector.inspect(dataset, manifest: manifest, imageSize: { _ in calls += 1; return (600, 450) }, sampleLimit: 20)
        XCTAssertEqual(calls, 20)
        XCTAssertEqual(report.imageSizes?.measured, 20)
        XCTAssertEqual(report.classCounts.map(\.split), ["train", "val", "test"])
        for counts in report.classCounts {
            XCTAssertEqual(counts.total, manifest.records(in: counts.split, of: dataset).count)
        }
        XCTAssertEqual(report.classCounts.map(\.total).reduce(0, +), 263)
    }

    func testLabelsWithoutImagesAreReportedMissing() throws {
        let dataset = try DatasetLoader.load(try DatasetFixtures.realData("isic-labels/ISBI2016_ISIC_Part3_Test_GroundTruth.csv"))
        let report = DatasetInspector.inspect(dataset) { _ in XCTFail("no file exists to measure"); return (0, 0) }
        XCTAssertNil(report.lesions)
        XCTAssertEqual(report.missingFiles.count, 379)
        XCTAssertNil(report.imageSizes)
        XCTAssertEqual(report.problemCounts, ["missingImage": 379])
        let text = report.formatted()
        XCTAssertTrue(text.contains("missing files (379):"), text)
        XCTAssertTrue(text.contains("… and 369 more"), text)

        let json = try JSONEncoder().encode(report)
        XCTAssertEqual(try JSONDecoder().decode(InspectionReport.self, from: json), report)
    }
}
