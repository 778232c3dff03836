import Foundation
import XCTest
import Dermoscopy

final class DatasetTests: XCTestCase {
    // MARK: real data

    func testHAMSampleLoadsLesionsClassesAndMetadata() throws {
        let root = try DatasetFixtures.realData("ham10000-sample")
        XCTAssertEqual(try DatasetLoader.detectFormat(at: root), .ham10000)
        XCTAssertEqual(try DatasetLoader.detectFormat(at: root.appendingPathComponent("HAM10000_metadata.csv")), .ham10000)

        let dataset = try DatasetLoader.load(root)
        XCTAssertEqual(dataset.format, .ham10000)
        XCTAssertEqual(dataset.records.count, 263)
        XCTAssertEqual(Set(dataset.records.compactMap(\.lesionID)).count, 256)
        XCTAssertEqual(dataset.classes, ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"])
        XCTAssertEqual(DatasetFixtures.labelCounts(dataset.records),
                       ["akiec": 14, "bcc": 17, "bkl": 19, "df": 11, "mel": 82, "nv": 107, "vasc": 13])
        XCTAssertEqual(dataset.problems, [])

        let first = dataset.records[0]
        XCTAssertEqual(first.imageID, "ISIC_0024306")
        XCTAssertEqual(first.lesionID, "HAM_0000550")
        XCTAssertEqual(first.label, "nv")
        XCTAssertEqual(first.path, "HAM10000_images_part_1/ISIC_0024306.jpg")
        XCTAssertEqual(first.metadata, ["dx_type": "follow_up", "age": "45.0", "sex": "male", "localization": "trunk"])
        XCTAssertEqual(dataset.records.filter { $0.path.hasPrefix("HAM10000_images_part_2/") }.count, 118)
        for record in dataset.records {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dataset.url(of: record).path), record.path)
        }
    }

    func testHAMWithoutFileChecksUsesTheOfficialLayout() throws {
        let checked = try DatasetFixtures.hamSample()
        var options = DatasetOptions()
        options.checkFiles = false
        let unchecked = try DatasetLoader.load(try DatasetFixtures.realData("ham10000-sample"), options: options)
        XCTAssertEqual(unchecked.records, checked.records)
    }

    func testClassesOptionRestrictsAndOrders() throws {
        var options = DatasetOptions()
        options.classes = ["nv", "mel"]
        let dataset = try DatasetLoader.load(try DatasetFixtures.realData("ham10000-sample"), options: options)
        XCTAssertEqual(dataset.classes, ["nv", "mel"])
        XCTAssertEqual(dataset.records.count, 189)
        XCTAssertEqual(dataset.problems.count, 263 - 189)
        XCTAssertTrue(dataset.problems.allSatisfy { $0.kind == .unknownLabel && $0.line != nil })
    }

    func testDermaMNISTIsAManifestWithOfficialSplits() throws {
        let root = try DatasetFixtures.realData("dermamnist28")
        XCTAssertEqual(try DatasetLoader.detectFormat(at: root), .csvManifest)
        XCTAssertEqual(try DatasetLoader.detectFormat(at: root.appendingPathComponent("labels.csv")), .csvManifest)

        let dataset = try DatasetLoader.load(root)
        XCTAssertEqual(dataset.records.count, 8010)
        XCTAssertEqual(dataset.problems, [])
        XCTAssertEqual(dataset.records.filter { $0.split == "train" }.count, 7007)
        XCTAssertEqual(dataset.records.filter { $0.split == "val" }.count, 1003)
        XCTAssertEqual(DatasetFixtures.labelCounts(dataset.records.filter { $0.split == "train" }),
                       ["akiec": 228, "bcc": 359, "bkl": 769, "df": 80, "mel": 779, "nv": 4693, "vasc": 99])
        let first = dataset.records[0]
        XCTAssertEqual(first.imageID, "DermaMNIST_train_00000")
        XCTAssertEqual(first.path, "images/DermaMNIST_train_00000.jpg")
        XCTAssertEqual(first.label, "akiec")
        XCTAssertEqual(first.metadata, ["label_index": "0"])
    }

    func testISIC2016TrainingLabelsLoadWithImagesMissing() throws {
        let file = try DatasetFixtures.realData("isic-labels/ISBI2016_ISIC_Part3_Training_GroundTruth.csv")
        XCTAssertEqual(try DatasetLoader.detectFormat(at: file), .isic2016)
        let dataset = try DatasetLoader.load(file)
        XCTAssertEqual(dataset.records.count, 900)
        XCTAssertEqual(dataset.classes, ["benign", "malignant"])
        XCTAssertEqual(DatasetFixtures.labelCounts(dataset.records), ["benign": 727, "malignant": 173])
        XCTAssertEqual(dataset.records[0], DatasetRecord(imageID: "ISIC_0000000", path: "ISIC_0000000.jpg", label: "benign"))
        XCTAssertEqual(dataset.problems.count, 900)
        XCTAssertTrue(dataset.problems.allSatisfy { $0.kind == .missingImage })
        XCTAssertEqual(dataset.problems[0].line, 1)
    }

    func testISIC2016TestLabelsMapZeroOneToBenignMalignant() throws {
        let file = try DatasetFixtures.realData("isic-labels/ISBI2016_ISIC_Part3_Test_GroundTruth.csv")
        XCTAssertEqual(try DatasetLoader.detectFormat(at: file), .isic2016)
        let dataset = try DatasetLoader.load(file)
        XCTAssertEqual(dataset.records.count, 379)
        XCTAssertEqual(DatasetFixtures.labelCounts(dataset.records), ["benign": 304, "malignant": 75])
        XCTAssertEqual(dataset.problems.filter { $0.kind == .missingImage }.count, 379)
    }

    func testISIC2018OneHotLabels() throws {
        let file = try DatasetFixtures.realData("isic-labels/ISIC2018_Task3_Validation_GroundTruth.csv")
        XCTAssertEqual(try DatasetLoader.detectFormat(at: file), .isicOneHot)
        let dataset = try DatasetLoader.load(file)
        XCTAssertEqual(dataset.records.count, 193)
        XCTAssertEqual(DatasetFixtures.labelCounts(dataset.records),
                       ["nv": 123, "bkl": 22, "mel": 21, "bcc": 15, "akiec": 8, "vasc": 3, "df": 1])
        XCTAssertEqual(dataset.records[0].imageID, "ISIC_0034321")
        XCTAssertEqual(dataset.problems.count, 193)
        XCTAssertTrue(dataset.problems.allSatisfy { $0.kind == .missingImage })
    }

    func testDirectoryWithSeveralLabelFilesSaysWhatItFound() throws {
        let root = try DatasetFixtures.realData("isic-labels")
        XCTAssertThrowsError(try DatasetLoader.detectFormat(at: root)) { error in
            let message = String(describing: error)
            XCTAssertTrue(error is DatasetError)
            XCTAssertTrue(message.contains("HAM10000_metadata.csv"), message)
            XCTAssertTrue(message.contains("ISIC2018_Task3_Validation_GroundTruth.csv"), message)
            XCTAssertTrue(message.contains("class folders"), message)
        }
    }

    // MARK: ISIC fixtures

    func testISICImagesAreFoundNextToTheCSVInImagesOrBelow() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        try DatasetFixtures.write("ISIC_0000000,benign\nISIC_0000001,malignant\nISIC_0000002,0\nISIC_0000003,1\n",
                                  to: root.appendingPathComponent("truth.csv"))
        try DatasetFixtures.touch(["ISIC_0000000.jpg", "images/ISIC_0000001.JPG", "deep/er/ISIC_0000002.png",
                                   "images/ISIC_0000000.jpg"], in: root)
        let dataset = try DatasetLoader.load(root)
        XCTAssertEqual(dataset.format, .isic2016)
        XCTAssertEqual(dataset.records.map(\.path),
                       ["ISIC_0000000.jpg", "images/ISIC_0000001.JPG", "deep/er/ISIC_0000002.png", "ISIC_0000003.jpg"])
        XCTAssertEqual(dataset.problems.map(\.kind), [.missingImage])
        XCTAssertEqual(dataset.problems.map(\.line), [4])
    }

    func testISIC2017OneHotMapsToMelSkAndNevus() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        let file = root.appendingPathComponent("ISIC-2017_Training_Part3_GroundTruth.csv")
        try DatasetFixtures.write("""
            image_id,melanoma,seborrheic_keratosis
            ISIC_0000000,0.0,0.0
            ISIC_0000001,1.0,0.0
            ISIC_0000002,0.0,1.0
            ISIC_0000003,1.0,1.0

            """, to: file)
        XCTAssertEqual(try DatasetLoader.detectFormat(at: file), .isicOneHot)
        var options = DatasetOptions()
        options.checkFiles = false
        let dataset = try DatasetLoader.load(file, options: options)
        XCTAssertEqual(dataset.records.map(\.label), ["nv", "mel", "sk"])
        XCTAssertEqual(dataset.problems.map(\.kind), [.badRow])
        XCTAssertEqual(dataset.problems.map(\.line), [5])
    }

    func testOneHotRowsWithoutExactlyOneClassAreBadRows() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        let file = root.appendingPathComponent("truth.csv")
        try DatasetFixtures.write("""
            image,MEL,NV,BCC,AKIEC,BKL,DF,VASC
            ISIC_1,0.0,1.0,0.0,0.0,0.0,0.0,0.0
            ISIC_2,0.0,0.0,0.0,0.0,0.0,0.0,0.0
            ISIC_3,1.0,1.0,0.0,0.0,0.0,0.0,0.0
            ISIC_4,x,1.0,0.0,0.0,0.0,0.0,0.0
            ISIC_5,0.0,0.0,0.0,0.0,0.0,1.0
            ISIC_6,0,0,0,0,0,0,1
            """, to: file)
        var options = DatasetOptions()
        options.checkFiles = false
        let dataset = try DatasetLoader.load(file, options: options)
        XCTAssertEqual(dataset.records.map(\.label), ["nv", "vasc"])
        XCTAssertEqual(dataset.problems.map(\.kind), [.badRow, .badRow, .badRow, .badRow])
        XCTAssertEqual(dataset.problems.map(\.line), [3, 4, 5, 6])
    }

    /// A fake ISIC-archive export: diagnosis levels, the benign_malignant fallback, lesion and patient ids.
    private func writeArchive(in root: URL) throws -> URL {
        let file = root.appendingPathComponent("metadata.csv")
        try DatasetFixtures.write("""
            isic_id,attribution,benign_malignant,diagnosis_1,diagnosis_3,lesion_id,patient_id,age_approx
            ISIC_0024306,ViDIR,benign,Benign,Nevus,IL_1,IP_1,45
            ISIC_9000001,Other,malignant,Malignant,Melanoma,IL_2,IP_2,60
            ISIC_9000002,Other,benign,,,IL_2,IP_2,
            ISIC_9000003,Other,,,,IL_4,IP_3,

            """, to: file)
        try DatasetFixtures.touch(["images/ISIC_0024306.jpg", "images/ISIC_9000001.jpg", "images/ISIC_9000002.jpg"], in: root)
        return file
    }

    func testISICArchiveExportKeepsGroupsAndFallsBackToBenignMalignant() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        let file = try writeArchive(in: root)
        XCTAssertEqual(try DatasetLoader.detectFormat(at: file), .isicArchive)
        let dataset = try DatasetLoader.load(root)
        XCTAssertEqual(dataset.format, .isicArchive)
        XCTAssertEqual(dataset.records.map(\.label), ["nevus", "melanoma", "benign"])
        XCTAssertEqual(dataset.records.map(\.lesionID), ["IL_1", "IL_2", "IL_2"])
        XCTAssertEqual(dataset.records.map(\.patientID), ["IP_1", "IP_2", "IP_2"])
        XCTAssertEqual(dataset.records[1].path, "images/ISIC_9000001.jpg")
        XCTAssertEqual(dataset.records[1].metadata, ["attribution": "Other", "age_approx": "60"])
        XCTAssertEqual(dataset.problems.map(\.kind), [.badRow])
        XCTAssertEqual(dataset.problems.map(\.line), [5])
    }

    func testMergingHAMWithTheArchiveDropsTheRepeatedImage() throws {
        let ham = try DatasetFixtures.hamSample()
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        let archive = try DatasetLoader.load(try writeArchive(in: root))

        let merged = Dataset.merged([ham, archive], labelMap: ["nevus": "nv", "melanoma": "mel"])
        XCTAssertEqual(merged.root, ham.root)
        XCTAssertEqual(merged.records.count, 263 + 2)
        XCTAssertEqual(merged.classes, ["akiec", "bcc", "benign", "bkl", "df", "mel", "nv", "vasc"])
        let duplicates = merged.problems.filter { $0.kind == .duplicateImage }
        XCTAssertEqual(duplicates.count, 1)
        XCTAssertTrue(duplicates[0].detail.contains("ISIC_0024306"))
        XCTAssertEqual(merged.records.filter { $0.imageID == "ISIC_0024306" }.map(\.lesionID), ["HAM_0000550"])
        let added = merged.records.first { $0.imageID == "ISIC_9000001" }!
        XCTAssertEqual(added.label, "mel")
        XCTAssertTrue(added.path.hasPrefix("/"))
        for record in merged.records {
            XCTAssertTrue(FileManager.default.fileExists(atPath: merged.url(of: record).path), record.path)
        }
    }

    // MARK: folder per class

    func testFolderPerClassWithoutSplitFolders() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        try DatasetFixtures.touch(["acne/1.jpg", "acne/2.png", "eczema/1.jpg", "eczema/notes.txt", "loose.jpg",
                                   ".cache/acne/9.jpg"], in: root)
        XCTAssertEqual(try DatasetLoader.detectFormat(at: root), .folderPerClass)
        let dataset = try DatasetLoader.load(root)
        XCTAssertEqual(dataset.classes, ["acne", "eczema"])
        XCTAssertEqual(dataset.records.map(\.imageID), ["acne/1", "acne/2", "eczema/1"])
        XCTAssertEqual(dataset.records.map(\.path), ["acne/1.jpg", "acne/2.png", "eczema/1.jpg"])
        XCTAssertEqual(dataset.records.map(\.split), [nil, nil, nil])
        XCTAssertEqual(dataset.problems, [])
    }

    func testFolderPerClassUnderTrainAndTestFolders() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        try DatasetFixtures.touch(["train/acne/1.jpg", "train/eczema/1.jpg", "Validation/acne/4.jpg",
                                   "test/acne/3.jpg", "test/eczema/1.jpg"], in: root)
        XCTAssertEqual(try DatasetLoader.detectFormat(at: root), .folderPerClass)
        let dataset = try DatasetLoader.load(root)
        XCTAssertEqual(dataset.classes, ["acne", "eczema"])
        XCTAssertEqual(dataset.records.map(\.imageID), ["acne/1", "eczema/1", "acne/4", "acne/3"])
        XCTAssertEqual(dataset.records.map(\.split), ["train", "train", "val", "test"])
        XCTAssertEqual(dataset.problems.map(\.kind), [.duplicateImage])
        XCTAssertTrue(dataset.problems[0].detail.contains("eczema/1"))
    }

    // MARK: hostile and malformed input

    func testHostileManifestRowsBecomeProblems() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        try DatasetFixtures.touch(["images/a.jpg", "images/b.jpg"], in: root)
        try DatasetFixtures.write("""
            image,label
            images/a.jpg,nv
            ../../etc/passwd,nv
            /etc/passwd,nv
            \(root.path)/images/b.jpg,mel
            images/c.jpg,zzz
            images/a.jpg,mel
            images/d.jpg,nv,extra
            images\\..\\..\\x.jpg,nv
            ,nv
            images/sub/../../../x.jpg,nv
            """, to: root.appendingPathComponent("labels.csv"))
        var options = DatasetOptions()
        options.classes = ["mel", "nv"]
        let dataset = try DatasetLoader.load(root, options: options)
        XCTAssertEqual(dataset.records.map(\.path), ["images/a.jpg", "images/b.jpg"])
        XCTAssertEqual(dataset.records.map(\.label), ["nv", "mel"])
        XCTAssertEqual(dataset.problems.map(\.kind),
                       [.unsafePath, .unsafePath, .unknownLabel, .duplicateImage, .badRow, .unsafePath, .badRow, .unsafePath])
        XCTAssertEqual(dataset.problems.map(\.line), [3, 4, 6, 7, 8, 9, 10, 11])
        XCTAssertTrue(dataset.problems.allSatisfy { $0.file.hasSuffix("labels.csv") })
    }

    /// Found by review while writing the fuzz targets: the root's own path followed by a second
    /// slash was cut to an absolute path (`/etc/passwd`), which `Dataset.url(of:)` then opened.
    func testAbsolutePathWithRepeatedSlashStaysInsideTheRoot() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        try DatasetFixtures.write("image,label\n\(root.path)//etc/x.jpg,nv\n\(root.path)///,nv\n", to: root.appendingPathComponent("labels.csv"))
        var options = DatasetOptions()
        options.checkFiles = false
        let dataset = try DatasetLoader.load(root, options: options)
        XCTAssertEqual(dataset.records.map(\.path), ["etc/x.jpg"])
        XCTAssertEqual(dataset.url(of: dataset.records[0]).path, root.appendingPathComponent("etc/x.jpg").path)
        XCTAssertEqual(dataset.problems.map(\.kind), [.unsafePath])
    }

    /// Found by the csv-manifest fuzz target (its input is the fixture): Foundation's NSString path
    /// functions trap on some runs of slashes, and the manifest reader asked one for the extension of
    /// `images/DermaMNIST_trHAM10000_images_part_1/ISIC_002//////*///`. Paths now come back from the
    /// root check in one spelling, without empty components.
    func testFuzzFoundRunsOfSlashesAreOnePath() throws {
        let crash = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz/csv-manifest-slash-runs.csv")
        var options = DatasetOptions()
        options.format = .csvManifest
        options.checkFiles = false
        let dataset = try DatasetLoader.load(crash, options: options)
        XCTAssertTrue(dataset.records.contains { $0.path == "images/DermaMNIST_trHAM10000_images_part_1/ISIC_002/*.jpg" },
                      "\(dataset.records.map(\.path))")
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        try DatasetFixtures.write("image,label\nx///a//,nv\n./y//./b.png,nv\n\(root.path)///z.jpg,nv\n", to: root.appendingPathComponent("labels.csv"))
        options.format = nil
        XCTAssertEqual(try DatasetLoader.load(root, options: options).records.map(\.path), ["x/a.jpg", "y/b.png", "z.jpg"])
    }

    func testHostileImageIDsCannotBuildPaths() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        try DatasetFixtures.write("ISIC_0000001,benign\n../../etc/passwd,malignant\n", to: root.appendingPathComponent("gt.csv"))
        let dataset = try DatasetLoader.load(root)
        XCTAssertEqual(dataset.records.map(\.imageID), ["ISIC_0000001"])
        XCTAssertEqual(dataset.problems.filter { $0.kind == .unsafePath }.map(\.line), [2])
    }

    func testCSVQuotesCRLFBOMAndBlankLines() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        let text = "\u{FEFF}image,label,note\r\n"
            + "\"x, y.jpg\",nv,\"said \"\"hi\"\"\"\r\n"
            + "\r\n"
            + "\"multi\nline.jpg\",mel,plain\r\n"
            + "   \r\n"
            + "z.jpg , nv ,last\r\n"
            + "z.jpg,nv,again"
        try DatasetFixtures.write(text, to: root.appendingPathComponent("labels.csv"))
        var options = DatasetOptions()
        options.checkFiles = false
        let dataset = try DatasetLoader.load(root, options: options)
        XCTAssertEqual(dataset.format, .csvManifest)
        XCTAssertEqual(dataset.records.map(\.path), ["x, y.jpg", "multi\nline.jpg", "z.jpg"])
        XCTAssertEqual(dataset.records.map(\.label), ["nv", "mel", "nv"])
        XCTAssertEqual(dataset.records[0].metadata, ["note": "said \"hi\""])
        XCTAssertEqual(dataset.problems.map(\.kind), [.duplicateImage])
        XCTAssertEqual(dataset.problems.map(\.line), [8], "line numbers count the line break inside quotes")
    }

    func testExplicitColumnsAndIDColumn() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        try DatasetFixtures.touch(["pics/one.png"], in: root)
        let file = root.appendingPathComponent("list.csv")
        try DatasetFixtures.write("image_id,file_ref,diag,grp,who,subset\nA1,pics/one,bcc,L1,P1,Training\n", to: file)
        var options = DatasetOptions()
        options.format = .csvManifest
        options.imageColumn = "file_ref"
        options.labelColumn = "diag"
        options.groupColumn = "grp"
        options.patientColumn = "who"
        let dataset = try DatasetLoader.load(file, options: options)
        XCTAssertEqual(dataset.records, [DatasetRecord(imageID: "A1", path: "pics/one.png", label: "bcc", lesionID: "L1",
                                                       patientID: "P1", split: "train")])
        XCTAssertEqual(dataset.problems, [])

        options.labelColumn = "diagnosis"
        XCTAssertThrowsError(try DatasetLoader.load(file, options: options)) { error in
            XCTAssertTrue(String(describing: error).contains("columns found: image_id, file_ref, diag, grp, who, subset"), "\(error)")
        }
    }

    func testUnrecoverableSourcesThrowDescriptiveErrors() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        let absent = root.appendingPathComponent("absent")
        XCTAssertThrowsError(try DatasetLoader.load(absent)) { error in
            XCTAssertEqual((error as? DatasetError)?.file, absent.path)
        }
        XCTAssertThrowsError(try DatasetLoader.detectFormat(at: root)) { error in
            XCTAssertTrue(String(describing: error).contains("HAM10000_metadata.csv"), "\(error)")
        }
        let unknown = root.appendingPathComponent("unknown.csv")
        try DatasetFixtures.write("foo,bar\n1,2\n", to: unknown)
        XCTAssertThrowsError(try DatasetLoader.detectFormat(at: unknown)) { error in
            XCTAssertTrue(String(describing: error).contains("columns found: foo, bar"), "\(error)")
        }
        var options = DatasetOptions()
        options.format = .ham10000
        let ham = root.appendingPathComponent("ham.csv")
        try DatasetFixtures.write("lesion_id,image_id\nHAM_1,ISIC_1\n", to: ham)
        XCTAssertThrowsError(try DatasetLoader.load(ham, options: options)) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("dx") && message.contains("columns found: lesion_id, image_id"), message)
        }
    }

    func testUnclosedQuoteAndOversizedRowAndFileAreRefused() throws {
        let root = try DatasetFixtures.temporaryDirectory(for: self)
        let unclosed = root.appendingPathComponent("unclosed.csv")
        try DatasetFixtures.write("image,label\na.jpg,nv\n\"b.jpg,nv\nc.jpg,nv\n", to: unclosed)
        XCTAssertThrowsError(try DatasetLoader.load(unclosed)) { error in
            XCTAssertEqual((error as? DatasetError)?.line, 3)
        }

        let longRow = root.appendingPathComponent("long.csv")
        try DatasetFixtures.write("image,label\n" + String(repeating: "x", count: (1 << 20) + 10) + ".jpg,nv\n", to: longRow)
        XCTAssertThrowsError(try DatasetLoader.load(longRow)) { error in
            XCTAssertEqual((error as? DatasetError)?.line, 2)
            XCTAssertTrue(String(describing: error).contains("1 MB"), "\(error)")
        }

        // Sparse: 257 MB on paper, no disk used; it must be refused before anything is read.
        let huge = root.appendingPathComponent("huge.csv")
        XCTAssertTrue(FileManager.default.createFile(atPath: huge.path, contents: Data("image,label\n".utf8)))
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: 257 << 20)
        try handle.close()
        XCTAssertThrowsError(try DatasetLoader.load(huge)) { error in
            XCTAssertTrue(String(describing: error).contains("256 MB"), "\(error)")
        }
    }
}
