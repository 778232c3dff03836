import Foundation
@testable import Interop
import XCTest

/// Inputs the zip-archive fuzz target found (`scripts/fuzz zip-archive`), kept so what they broke
/// stays fixed.
final class ZipArchiveTests: XCTestCase {
    private func fixture(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz/\(name)")
    }

    /// A 5 KB zip (a mutated torch checkpoint) whose central directory declares a 2.5 GB member
    /// of 3.7 GB compressed: reading it reserved the declared size before a byte arrived
    /// (libFuzzer: out-of-memory, malloc(2583969792)). A member's compressed bytes are now checked
    /// against the file before anything is reserved, and no more than those are.
    func testDeclaredSizeIsNotReservedBeforeTheBytesArrive() throws {
        let archive = try ZipArchive(url: fixture("zip-archive-declares-2.5GB.zip"))
        XCTAssertEqual(archive.fileBytes, 5069)
        let huge = try XCTUnwrap(archive.entries.first { $0.entry.uncompressedSize > 1 << 30 })
        XCTAssertEqual(huge.entry.uncompressedSize, 2_583_966_745)
        XCTAssertThrowsError(try archive.data(huge.path)) { error in
            XCTAssertEqual("\(error)", "zip-archive-declares-2.5GB.zip: zip: '\(huge.path)' declares 3703222407 compressed "
                           + "bytes in a 5069-byte archive")
        }
    }

    /// A 6.6 KB mutated torch checkpoint whose ZIP64 end-of-central-directory record puts the
    /// central directory at an offset past 2^63: ZIPFoundation converted it to `off_t` and
    /// trapped ("Not enough bits to represent the passed value", exit 132 from `import`). It is
    /// refused, naming the field, before ZIPFoundation reads the archive.
    func testZIP64OffsetsBeyondAnyArchiveAreRefusedNotATrap() throws {
        XCTAssertThrowsError(try ZipArchive(url: fixture("zip-archive-zip64-offset-2-63.zip"))) { error in
            print("zip64 offset: \(error)")
            XCTAssertTrue("\(error)".hasPrefix("zip-archive-zip64-offset-2-63.zip: zip: ZIP64 "), "\(error)")
            XCTAssertTrue("\(error)".hasSuffix("is beyond any archive (the limit is 2^62)"), "\(error)")
        }
    }
}
