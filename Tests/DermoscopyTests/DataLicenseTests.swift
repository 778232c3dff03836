import Foundation
import XCTest
import Dermoscopy

/// The licence a dataset's format implies: CC BY-NC 4.0 for HAM10000, the ISIC formats and a
/// DermaMNIST-like manifest (HAM10000's codes), "unknown: state it yourself" otherwise; merging
/// keeps one entry per source.
final class DataLicenseTests: XCTestCase {
    func testThePublicDermoscopySetsAreNonCommercial() throws {
        for (path, basis) in [("ham10000-sample", "HAM10000 layout"), ("dermamnist28", "DermaMNIST"),
                              ("isic-labels/ISBI2016_ISIC_Part3_Training_GroundTruth.csv", "ISIC challenge ground truth (isic2016)"),
                              ("isic-labels/ISIC2018_Task3_Validation_GroundTruth.csv", "ISIC challenge ground truth (isicOneHot)")] {
            let dataset = try DatasetLoader.load(DatasetFixtures.realData(path))
            XCTAssertEqual(dataset.licenses.map(\.license), ["CC BY-NC 4.0"], path)
            XCTAssertTrue(dataset.licenses[0].basis.contains(basis), "\(path): \(dataset.licenses[0].basis)")
            XCTAssertEqual(dataset.licenses[0].dataset, dataset.root.path)
        }
    }

    func testOtherDataIsUnknownUntilStated() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        try DatasetFixtures.touch(["classes/acne/1.jpg", "classes/eczema/1.jpg", "own/a.jpg", "own/b.jpg", "codes/a.jpg", "codes/b.jpg"],
                                  in: root)
        try DatasetFixtures.write("image,label\na.jpg,acne\nb.jpg,eczema\n", to: root.appendingPathComponent("own/labels.csv"))
        try DatasetFixtures.write("image,label\na.jpg,mel\nb.jpg,nv\n", to: root.appendingPathComponent("codes/labels.csv"))
        let folders = try DatasetLoader.load(root.appendingPathComponent("classes"))
        XCTAssertEqual(folders.licenses.map(\.license), ["unknown: state it yourself"])
        XCTAssertTrue(folders.licenses[0].basis.contains("folderPerClass format does not say; give train --data-license"))
        let own = try DatasetLoader.load(root.appendingPathComponent("own"))
        XCTAssertEqual(own.format, .csvManifest)
        XCTAssertEqual(own.licenses.map(\.license), [DataLicense.unknown])
        let codes = try DatasetLoader.load(root.appendingPathComponent("codes"))
        XCTAssertEqual(codes.licenses.map(\.license), [DataLicense.nonCommercial], "HAM10000's codes: DermaMNIST-like")

        let merged = Dataset.merged([codes, own])
        XCTAssertEqual(merged.licenses.map(\.license), [DataLicense.nonCommercial, DataLicense.unknown])
        XCTAssertEqual(merged.licenses.map(\.dataset), [codes.root.path, own.root.path])
        XCTAssertTrue(DataLicense.inheritedTerms(merged.licenses).contains("carries that non-commercial term"))
        XCTAssertTrue(DataLicense.inheritedTerms(own.licenses).contains("unknown; state it"))
        XCTAssertEqual(DataLicense.stated("CC BY 4.0", for: "own").basis, "stated with train --data-license")
    }
}
