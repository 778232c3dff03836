import Foundation
import XCTest
import Dermoscopy

final class SplitTests: XCTestCase {
    private let plan = SplitPlan(fractions: (0.7, 0.15, 0.15), groupBy: .lesion, seed: 42)

    /// Split of each lesion; fails the test when a lesion is in two splits.
    private func splitByLesion(_ manifest: SplitManifest, file: StaticString = #filePath, line: UInt = #line) -> [String: String] {
        var splitOf: [String: String] = [:]
        for entry in manifest.entries {
            let lesion = entry.lesionID!
            if let earlier = splitOf[lesion], earlier != entry.split {
                XCTFail("lesion \(lesion) is in \(earlier) and \(entry.split)", file: file, line: line)
            }
            splitOf[lesion] = entry.split
        }
        return splitOf
    }

    func testLesionGroupedSplitOfHAMKeepsLesionsTogetherAndClassesEverywhere() throws {
        let dataset = try DatasetFixtures.hamSample()
        let manifest = try Splitter.split(dataset, plan: plan)

        XCTAssertEqual(manifest.entries.map(\.imageID), dataset.records.map(\.imageID), "every image assigned exactly once")
        XCTAssertEqual(manifest.splits, ["train", "val", "test"])
        XCTAssertEqual(manifest.classes, dataset.classes)
        XCTAssertEqual(Set(splitByLesion(manifest).keys).count, 256)
        for split in manifest.splits {
            let classes = Set(manifest.records(in: split, of: dataset).map(\.label))
            XCTAssertEqual(classes, Set(dataset.classes), "\(split) lacks a class")
        }
        let sizes = manifest.splits.map { manifest.records(in: $0, of: dataset).count }
        XCTAssertEqual(sizes.reduce(0, +), 263)
        XCTAssertEqual(Double(sizes[0]), 0.7 * 263, accuracy: 6)
        XCTAssertEqual(Double(sizes[1]), 0.15 * 263, accuracy: 6)
        XCTAssertEqual(Double(sizes[2]), 0.15 * 263, accuracy: 6)
        // Per class too: mel has 82 images, so about 57 / 12 / 12.
        let mel = manifest.splits.map { split in manifest.records(in: split, of: dataset).filter { $0.label == "mel" }.count }
        XCTAssertEqual(Double(mel[0]), 0.7 * 82, accuracy: 3)
    }

    func testSplitIsDeterministicPerSeedAndDiffersAcrossSeeds() throws {
        let dataset = try DatasetFixtures.hamSample()
        let first = try Splitter.split(dataset, plan: plan)
        XCTAssertEqual(try Splitter.split(dataset, plan: plan), first)
        var other = plan
        other.seed = 43
        let second = try Splitter.split(dataset, plan: other)
        XCTAssertNotEqual(second.entries.map(\.split), first.entries.map(\.split))
        _ = splitByLesion(second)
    }

    func testUnstratifiedSplitStillGroupsLesions() throws {
        let dataset = try DatasetFixtures.hamSample()
        var plain = plan
        plain.stratified = false
        let manifest = try Splitter.split(dataset, plan: plain)
        _ = splitByLesion(manifest)
        XCTAssertEqual(Double(manifest.records(in: "train", of: dataset).count), 0.7 * 263, accuracy: 3)
        XCTAssertTrue(manifest.plan.contains("not stratified"))
    }

    func testSmallClassesReachValAndTestAndBigLesionsStayWhole() throws {
        // rare: 3 lesions (one of 4 images); common: 20 single-image lesions.
        let dataset = DatasetFixtures.synthetic([("rare", 4), ("rare", 1), ("rare", 1)] + Array(repeating: ("common", 1), count: 20))
        for seed in UInt64(0)..<20 {
            let manifest = try Splitter.split(dataset, plan: SplitPlan(seed: seed))
            for split in ["train", "val", "test"] {
                XCTAssertTrue(manifest.records(in: split, of: dataset).contains { $0.label == "rare" }, "seed \(seed): no rare in \(split)")
            }
            let bigLesion = Set(manifest.entries.filter { $0.lesionID == "L0" }.map(\.split))
            XCTAssertEqual(bigLesion, ["train"], "seed \(seed)")
        }
    }

    /// A quote followed by a combining mark is one Swift character, so the CSV writer left it
    /// undoubled and the class name read back with its quote moved (the split-manifest fuzz
    /// target's input, reduced): names with quotes, combining marks and commas round-trip.
    func testQuotesBeforeCombiningMarksRoundTrip() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("split-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        let classes = ["b\"\u{0749}\0)ed by class\"", "\"\u{0301}", "mel, \"nv\"", "nv"]
        let entry = SplitManifest.Entry(imageID: "I\"\u{0749}d", path: "a.jpg", label: "nv", lesionID: "L\"\u{0301}",
                                        patientID: nil, split: "train", fold: nil)
        let manifest = SplitManifest(entries: [entry], classes: classes, seed: 3, plan: "plan \"\u{0749}")
        try manifest.write(to: url)
        XCTAssertEqual(try SplitManifest.read(from: url), manifest)
    }

    func testZeroShareGetsNothing() throws {
        let dataset = DatasetFixtures.synthetic(Array(repeating: ("a", 1), count: 10) + Array(repeating: ("b", 2), count: 5))
        let manifest = try Splitter.split(dataset, plan: SplitPlan(fractions: (0.8, 0.2, 0), seed: 1))
        XCTAssertEqual(manifest.splits, ["train", "val"])
        XCTAssertEqual(manifest.records(in: "val", of: dataset).count, 4)
    }

    func testFractionsAreValidated() throws {
        let dataset = DatasetFixtures.synthetic([("a", 1), ("a", 1), ("a", 1)])
        for fractions in [(0.7, 0.2, 0.2), (1.2, -0.1, -0.1), (0.0, 0.5, 0.5), (Double.nan, 0.5, 0.5)] {
            XCTAssertThrowsError(try Splitter.split(dataset, plan: SplitPlan(fractions: fractions, seed: 1)), "\(fractions)") { error in
                XCTAssertTrue(error is SplitError)
            }
        }
    }

    func testManifestRoundTripsThroughItsCSV() throws {
        let dataset = try DatasetFixtures.hamSample()
        let manifest = try Splitter.split(dataset, plan: plan)
        let directory = try DatasetFixtures.temporaryDirectory(for: self)
        let url = directory.appendingPathComponent("split.csv")
        try manifest.write(to: url)
        XCTAssertEqual(try SplitManifest.read(from: url), manifest)
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.contains("\nimage_id,path,label,lesion_id,patient_id,split\n"))
        XCTAssertTrue(text.contains("\nISIC_0024306,HAM10000_images_part_1/ISIC_0024306.jpg,nv,HAM_0000550,,"))

        // Awkward values survive; writing again replaces the file and leaves no temporary behind.
        let awkward = SplitManifest(
            entries: [.init(imageID: "a,1", path: " spaced/\"q\".jpg", label: "Acne and Rosacea", lesionID: nil,
                            patientID: "P\n2", split: "fold0", fold: 0)],
            classes: ["Acne and Rosacea", "x,y"], seed: .max, plan: "hand-made, \"quoted\"")
        try awkward.write(to: url)
        XCTAssertEqual(try SplitManifest.read(from: url), awkward)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["split.csv"])
    }

    func testReadingABrokenManifestNamesTheLine() throws {
        let url = try DatasetFixtures.temporaryDirectory(for: self).appendingPathComponent("bad.csv")
        try DatasetFixtures.write("image_id,split,fold\nA,train,0\nB,val,minus one\n", to: url)
        XCTAssertThrowsError(try SplitManifest.read(from: url)) { error in
            XCTAssertEqual((error as? DatasetError)?.line, 3)
        }
        try DatasetFixtures.write("image,split\nA,train\n", to: url)
        XCTAssertThrowsError(try SplitManifest.read(from: url)) { error in
            XCTAssertTrue(String(describing: error).contains("columns found: image, split"), "\(error)")
        }
    }

    func testFiveFoldsKeepLesionsWholeAndAreAllUsed() throws {
        let dataset = try DatasetFixtures.hamSample()
        let manifest = try Splitter.kFold(dataset, k: 5, groupBy: .lesion, seed: 7)
        XCTAssertEqual(manifest.entries.map(\.imageID), dataset.records.map(\.imageID))
        XCTAssertEqual(manifest.splits, ["fold0", "fold1", "fold2", "fold3", "fold4"])
        _ = splitByLesion(manifest)
        for fold in 0..<5 {
            let (train, val) = manifest.crossValidation(fold: fold, of: dataset)
            XCTAssertEqual(train.count + val.count, 263)
            XCTAssertEqual(Double(val.count), 263 / 5, accuracy: 4, "fold \(fold)")
            XCTAssertEqual(Set(val.map(\.label)), Set(dataset.classes), "fold \(fold) lacks a class")
            XCTAssertTrue(Set(train.compactMap(\.lesionID)).isDisjoint(with: val.compactMap(\.lesionID)))
            XCTAssertEqual(manifest.records(in: "fold\(fold)", of: dataset).count, val.count)
        }
        XCTAssertEqual(try Splitter.kFold(dataset, k: 5, groupBy: .lesion, seed: 7), manifest)

        let url = try DatasetFixtures.temporaryDirectory(for: self).appendingPathComponent("folds.csv")
        try manifest.write(to: url)
        XCTAssertEqual(try SplitManifest.read(from: url), manifest)
    }

    func testKFoldFillsEveryFoldEvenWhenClassesAreTiny() throws {
        let dataset = DatasetFixtures.synthetic([("a", 3), ("b", 1), ("c", 1), ("d", 2)])
        let manifest = try Splitter.kFold(dataset, k: 4, groupBy: .lesion, seed: 3)
        XCTAssertEqual(Set(manifest.entries.compactMap(\.fold)), [0, 1, 2, 3])
        XCTAssertThrowsError(try Splitter.kFold(dataset, k: 5, groupBy: .lesion, seed: 3))
        XCTAssertThrowsError(try Splitter.kFold(dataset, k: 1, groupBy: .lesion, seed: 3))
    }

    func testOfficialSplitOfDermaMNIST() throws {
        let dataset = try DatasetLoader.load(try DatasetFixtures.realData("dermamnist28"))
        let manifest = try Splitter.split(dataset, plan: SplitPlan(groupBy: .lesion, seed: 0, useOfficialSplit: true))
        XCTAssertEqual(manifest.splits, ["train", "val"])
        XCTAssertEqual(manifest.records(in: "train", of: dataset).count, 7007)
        XCTAssertEqual(manifest.records(in: "val", of: dataset).count, 1003)
    }

    func testOfficialSplitMustExistAndMustNotDivideALesion() throws {
        let ham = try DatasetFixtures.hamSample()
        XCTAssertThrowsError(try Splitter.split(ham, plan: SplitPlan(seed: 0, useOfficialSplit: true))) { error in
            XCTAssertTrue(String(describing: error).contains("263 of 263"), "\(error)")
        }
        var leaky = DatasetFixtures.synthetic([("a", 2), ("b", 1)])
        leaky.records[0].split = "train"
        leaky.records[1].split = "test"
        leaky.records[2].split = "test"
        XCTAssertThrowsError(try Splitter.split(leaky, plan: SplitPlan(groupBy: .lesion, seed: 0, useOfficialSplit: true))) { error in
            XCTAssertTrue(String(describing: error).contains("lesion:L0 in train and test"), "\(error)")
        }
        let accepted = try Splitter.split(leaky, plan: SplitPlan(groupBy: .image, seed: 0, useOfficialSplit: true))
        XCTAssertEqual(accepted.entries.map(\.split), ["train", "test", "test"])
    }

    func testPatientGroupingFallsBackToLesionAndSaysSo() throws {
        var dataset = DatasetFixtures.synthetic(Array(repeating: ("a", 2), count: 10))
        for i in 0..<4 { dataset.records[i].patientID = "P0" }  // lesions L0 and L1 belong to one patient
        let manifest = try Splitter.split(dataset, plan: SplitPlan(groupBy: .patient, seed: 5))
        XCTAssertEqual(Set(manifest.entries.prefix(4).map(\.split)).count, 1)
        XCTAssertTrue(manifest.plan.contains("16 records without a patient id"), manifest.plan)
    }
}
