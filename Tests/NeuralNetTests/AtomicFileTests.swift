import Foundation
import NeuralNet
import TestSupport
import XCTest

/// The one write path every file takes: on a full disk it names the path, keeps the previous
/// file and leaves no temporary file; once space is freed the same write succeeds.
final class AtomicFileTests: XCTestCase {
    func testFullDiskNamesThePathAndKeepsThePreviousFile() throws {
        let disk = try SmallDisk(megabytes: 4, for: self)
        let url = disk.url.appendingPathComponent("best.safetensors")
        try AtomicFile.write(Data("previous model".utf8), to: url)
        try disk.fill()
        let large = Data(repeating: 7, count: 1 << 20)
        XCTAssertThrowsError(try AtomicFile.write(large, to: url)) { error in
            XCTAssertEqual("\(error)", "\(url.path): cannot write the temporary file: No space left on device; "
                           + "the previous file, if any, is unchanged")
        }
        XCTAssertEqual(try Data(contentsOf: url), Data("previous model".utf8))
        XCTAssertEqual(try disk.contents().keys.sorted(), ["best.safetensors"], "no temporary file is left behind")
        try disk.free()
        try AtomicFile.write(large, to: url)
        XCTAssertEqual(try Data(contentsOf: url), large)
    }

    func testStaleTemporariesAreRecognisedAndRemoved() throws {
        let directory = try temporaryDirectory("skinlesion-atomic")
        for name in [".step-00000003.safetensors.2F1C.tmp", "step-00000003.safetensors", ".hidden", "notes.tmp"] {
            try Data().write(to: directory.appendingPathComponent(name))
        }
        AtomicFile.removeStaleTemporaries(in: directory)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(),
                       [".hidden", "notes.tmp", "step-00000003.safetensors"])
    }
}
