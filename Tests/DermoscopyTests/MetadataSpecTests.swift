import Foundation
import XCTest
@testable import Dermoscopy

final class MetadataSpecTests: XCTestCase {
    private func records() -> [DatasetRecord] {
        [("30", "male", "back"), ("50", "female", "upper extremity"), ("", "unknown", "face"), ("70", "male", "Back")]
            .enumerated().map { i, row in
                DatasetRecord(imageID: "ISIC_\(i)", path: "\(i).jpg", label: "nv",
                              metadata: ["age": row.0, "sex": row.1, "localization": row.2].filter { !$0.value.isEmpty })
            }
    }

    func testDerivedFromTheTrainingSplitWithHAM10000ShortNames() throws {
        let spec = try MetadataSpecBuilder.derive(names: ["age", "sex", "site"], from: records())
        XCTAssertEqual(spec.features.map(\.column), ["age", "sex", "localization"])
        let age = try XCTUnwrap(spec.features[0].numeric)
        // Mean 50, population sd √(800/3) over the three present ages.
        XCTAssertEqual(age.scale, Float(1 / (800.0 / 3).squareRoot()), accuracy: 1e-6)
        XCTAssertEqual(age.shift, Float(-50 / (800.0 / 3).squareRoot()), accuracy: 1e-6)
        XCTAssertEqual(spec.features[1].categorical?.categories, ["female", "male"])
        XCTAssertEqual(spec.features[2].categorical?.categories, ["back", "face", "upper extremity"])
        XCTAssertEqual(spec.features[2].categorical?.aliases["arm"], "upper extremity")
        XCTAssertEqual(spec.features[2].categorical?.aliases["posterior torso"], "back")
        XCTAssertEqual(spec.width, 2 + 3 + 4)
    }

    func testEncodingMissingUnknownAliasesAndDroppedFeatures() throws {
        let spec = try MetadataSpecBuilder.derive(names: ["age", "sex", "site"], from: records())
        let sd = Float((800.0 / 3).squareRoot())
        var encoded = try spec.encode(["age": "70", "sex": "M", "site": "arm"])
        XCTAssertEqual(encoded.vector[0], 20 / sd, accuracy: 1e-6)
        XCTAssertEqual(Array(encoded.vector.dropFirst()), [0, 0, 1, 0, 0, 0, 1, 0])
        XCTAssertEqual(encoded.unknown, [])
        encoded = try spec.encode(["age": "", "sex": "unknown", "localization": "nose"])
        XCTAssertEqual(encoded.vector, [0, 1, 0, 0, 0, 0, 0, 0, 1])
        XCTAssertEqual(encoded.unknown, ["site=nose"])
        encoded = try spec.encode(["age": "70", "sex": "male", "site": "back"], dropped: [0, 2])
        XCTAssertEqual(encoded.vector, [0, 1, 0, 1, 0, 0, 0, 0, 0])
        XCTAssertThrowsError(try spec.encode(["age": "seventy"])) { error in
            XCTAssertEqual("\(error)", "metadata 'age' must be a number, got 'seventy'")
        }
    }

    func testParsingTheCommandLineAndRoundTrippingTheJSON() throws {
        let spec = try MetadataSpecBuilder.derive(names: ["age", "sex", "site"], from: records())
        XCTAssertEqual(try spec.parse(assignments: "age=55,sex=male,site=back"), ["age": "55", "sex": "male", "site": "back"])
        XCTAssertEqual(try spec.parse(assignments: "localization=,age=40"), ["site": "", "age": "40"])
        XCTAssertThrowsError(try spec.parse(assignments: "weight=80")) { error in
            XCTAssertTrue("\(error)".contains("unknown metadata field 'weight'; this model takes age, sex, site"), "\(error)")
        }
        let decoded = try MetadataSpec.decode(try spec.encoded(), file: "spec.json")
        XCTAssertEqual(decoded, spec)
    }

    func testHandWrittenSpecsAreValidated() throws {
        let bad = #"{"formatVersion":1,"missingValues":[""],"features":[{"name":"sex","column":"sex","categorical":{"categories":["m"],"aliases":{"x":"y"},"unknownSlot":true}}]}"#
        XCTAssertThrowsError(try MetadataSpec.decode(Data(bad.utf8), file: "spec.json")) { error in
            XCTAssertEqual("\(error)", "spec.json: metadata feature 'sex': alias 'x' names 'y', which is not a category")
        }
        let both = #"{"formatVersion":1,"missingValues":[""],"features":[{"name":"age","column":"age"}]}"#
        XCTAssertThrowsError(try MetadataSpec.decode(Data(both.utf8), file: "spec.json")) { error in
            XCTAssertTrue("\(error)".contains("exactly one of numeric or categorical"), "\(error)")
        }
        XCTAssertThrowsError(try MetadataSpecBuilder.derive(names: ["weight"], from: records())) { error in
            XCTAssertTrue("\(error)".contains("'weight' is not a column of this dataset"), "\(error)")
        }
    }
}
