import Foundation
import XCTest
@testable import NeuralNet

/// Reader and writer tests. Hostile files are built byte by byte so each test
/// controls exactly which rule is broken; every rejection must name the file and
/// the offending tensor or field.
final class SafeTensorsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("SafeTensorsTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    // MARK: Helpers

    /// Writes `bytes` under `name` in the test directory.
    private func write(_ bytes: [UInt8], name: String = "hostile.safetensors") throws -> URL {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// A file with the given header text (unpadded, so the data buffer may be misaligned) and data bytes.
    private func file(header: String, data: [UInt8] = []) -> [UInt8] {
        let json = Array(header.utf8)
        return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json + data
    }

    /// Opens `bytes` and asserts a SafeTensorsError that names the file and every fragment.
    private func assertRejects(
        _ bytes: [UInt8], mentioning fragments: [String], file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let url = try write(bytes)
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: url), file: file, line: line) { error in
            guard let error = error as? SafeTensorsError else {
                return XCTFail("not a SafeTensorsError: \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.file, "hostile.safetensors", file: file, line: line)
            for fragment in ["hostile.safetensors"] + fragments {
                XCTAssertTrue(error.description.contains(fragment), "'\(error)' lacks '\(fragment)'", file: file, line: line)
            }
        }
    }

    private func bytes<T>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes(Array.init)
    }

    // MARK: Round trips and known values

    func testRoundTripF32I64AndMetadata() throws {
        var writer = SafeTensorsWriter()
        let weights: [Float] = [1.5, -0.25, .infinity, 3.4e38, -0.0, .leastNonzeroMagnitude]
        try writer.add("conv1.weight", shape: [2, 3], floats: weights)
        try writer.add("bn1.num_batches_tracked", shape: [], int64s: [Int64.min])
        try writer.add("fc.bias", shape: [3], int64s: [1, -2, Int64.max])
        try writer.add("empty", shape: [0, 4], floats: [])
        writer.metadata = ["architecture": "resnet50", "classes": "[\"nevus\", \"melanoma\"]"]
        let url = directory.appendingPathComponent("model.safetensors")
        try writer.write(to: url)

        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.names, ["bn1.num_batches_tracked", "conv1.weight", "empty", "fc.bias"])
        XCTAssertEqual(file.metadata, writer.metadata)
        XCTAssertEqual(file.entries["conv1.weight"]?.shape, [2, 3])
        XCTAssertEqual(file.entries["conv1.weight"]?.dtype, .f32)
        XCTAssertEqual(file.entries["bn1.num_batches_tracked"]?.elementCount, 1)
        XCTAssertEqual(try file.floats("conv1.weight").map(\.bitPattern), weights.map(\.bitPattern))
        XCTAssertEqual(try file.int64s("fc.bias"), [1, -2, Int64.max])
        XCTAssertEqual(try file.int64s("bn1.num_batches_tracked"), [Int64.min])
        XCTAssertEqual(try file.floats("fc.bias"), [1, -2, Float(Int64.max)])
        XCTAssertEqual(try file.floats("empty"), [])
    }

    func testWriterLayoutIsNameOrderedAndHeaderPaddedToEightBytes() throws {
        var writer = SafeTensorsWriter()
        try writer.add("b", shape: [1], floats: [2])
        try writer.add("a", shape: [3], int64s: [1, 2, 3])
        try writer.add("c/d", shape: [2], floats: [3, 4])
        let url = directory.appendingPathComponent("layout.safetensors")
        try writer.write(to: url)

        let raw = [UInt8](try Data(contentsOf: url))
        let headerLength = raw[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(headerLength % 8, 0)
        let header = String(decoding: raw[8..<(8 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{"))
        XCTAssertTrue(header.contains("\"c/d\""), "slashes are not escaped: \(header)")
        XCTAssertEqual(header.trimmingCharacters(in: .whitespaces).last, "}")
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.entries["a"]?.byteRange, 0..<24)
        XCTAssertEqual(file.entries["b"]?.byteRange, 24..<28)
        XCTAssertEqual(file.entries["c/d"]?.byteRange, 28..<36)
        XCTAssertEqual(raw.count, 8 + headerLength + 36)
        XCTAssertNil(file.metadata["__metadata__"])
        XCTAssertEqual(file.metadata, [:])
    }

    /// Hand-built F16/BF16 tensors behind a 1-byte-odd data buffer, checked bit for bit.
    func testHandBuiltF16AndBF16AreConvertedExactly() throws {
        let f16: [UInt16] = [0x3C00, 0xC100, 0x7BFF, 0x0001, 0x03FF, 0x7C00, 0xFC00, 0x7E00, 0x8000, 0x0400]
        let f16Expected: [Float] = [1, -2.5, 65504, 0x1p-24, 1023 * 0x1p-24, .infinity, -.infinity, .nan, -0.0, 0x1p-14]
        let bf16: [UInt16] = [0x4049, 0x3F80, 0xC020, 0x0001, 0x7F80, 0xFF80, 0x7FC0, 0x7F7F]
        let bf16Expected: [Float] = [3.140625, 1, -2.5, Float(bitPattern: 0x0001_0000), .infinity, -.infinity, .nan, Float(bitPattern: 0x7F7F_0000)]
        let data = bytes(f16) + bytes(bf16) + bytes([Float(0.5), -7]) + bytes([Int64(-3)])
        let json = """
            {"h":{"dtype":"F16","shape":[2,5],"data_offsets":[0,20]},\
            "b":{"dtype":"BF16","shape":[8],"data_offsets":[20,36]},\
            "f":{"dtype":"F32","shape":[2],"data_offsets":[36,44]},\
            "i":{"dtype":"I64","shape":[1],"data_offsets":[44,52]}}
            """
        // Pad so the data buffer starts 1 byte past a multiple of 4 (and of 8).
        let header = json + String(repeating: " ", count: (9 - (8 + json.utf8.count) % 8) % 8)
        XCTAssertEqual((8 + header.utf8.count) % 8, 1)
        let file = try SafeTensorsFile(contentsOf: try write(self.file(header: header, data: data), name: "halves.safetensors"))

        let halves = try file.floats("h")
        XCTAssertEqual(halves.map(\.bitPattern), f16Expected.map(\.bitPattern))
        XCTAssertEqual(halves[4], 0x1.FF8p-15, "largest f16 subnormal")
        let brains = try file.floats("b")
        XCTAssertEqual(brains.map(\.bitPattern), bf16Expected.map(\.bitPattern))
        XCTAssertEqual(brains[0], 3.140625)
        XCTAssertEqual(try file.floats("f"), [0.5, -7])
        XCTAssertEqual(try file.int64s("i"), [-3])
        XCTAssertEqual(try file.floats("i"), [-3])
    }

    /// Every f16 bit pattern against the platform's own conversion (unavailable on Intel Macs).
    func testF16ConversionMatchesFloat16ForAllBitPatterns() throws {
        #if os(macOS) && arch(x86_64)
        throw XCTSkip("Float16 is unavailable on Intel Macs")
        #else
        let mismatches = (UInt16.min...UInt16.max).filter { bits in
            let reference = Float(Float16(bitPattern: bits))
            let converted = floatFromFloat16Bits(bits)
            return reference.isNaN
                ? !converted.isNaN || converted.sign != reference.sign
                : converted.bitPattern != reference.bitPattern
        }
        XCTAssertEqual(mismatches.prefix(8).map { String($0, radix: 16) }, [], "\(mismatches.count) mismatches")
        #endif
    }

    func testBF16KeepsNaNPayload() {
        XCTAssertEqual(floatFromBFloat16Bits(0x7F81).bitPattern, 0x7F81_0000)
        XCTAssertEqual(floatFromFloat16Bits(0x7C01).bitPattern, 0x7F80_2000)
    }

    func testAccessorsRejectUnknownNamesAndWrongTypes() throws {
        var writer = SafeTensorsWriter()
        try writer.add("w", shape: [1], floats: [1])
        let url = directory.appendingPathComponent("small.safetensors")
        try writer.write(to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertThrowsError(try file.floats("missing")) {
            XCTAssertEqual($0 as? SafeTensorsError, SafeTensorsError(file: "small.safetensors", message: "no tensor named 'missing'"))
        }
        XCTAssertThrowsError(try file.int64s("w")) {
            XCTAssertEqual("\($0)", "small.safetensors: tensor 'w' is F32, not I64")
        }
    }

    // MARK: Hostile files: framing

    func testFileShorterThanEightBytes() throws {
        try assertRejects([], mentioning: ["0 bytes", "8-byte header length"])
        try assertRejects([1, 2, 3], mentioning: ["3 bytes", "8-byte header length"])
    }

    func testHugeHeaderLength() throws {
        try assertRejects([UInt8](repeating: 0xFF, count: 16), mentioning: ["header length 18446744073709551615", "100000000-byte limit"])
        let justOver = withUnsafeBytes(of: UInt64(100_000_001).littleEndian, Array.init)
        try assertRejects(justOver + [0], mentioning: ["header length 100000001", "limit"])
    }

    func testHeaderLengthPastEndOfFile() throws {
        try assertRejects(withUnsafeBytes(of: UInt64(500).littleEndian, Array.init) + Array("{}".utf8),
                          mentioning: ["header length 500", "10-byte file"])
    }

    func testTruncatedFiles() throws {
        var writer = SafeTensorsWriter()
        try writer.add("conv1.weight", shape: [64, 3, 7, 7], floats: Array(repeating: 0.5, count: 64 * 3 * 7 * 7))
        let url = directory.appendingPathComponent("full.safetensors")
        try writer.write(to: url)
        let full = [UInt8](try Data(contentsOf: url))
        try assertRejects(Array(full.prefix(full.count / 2)), mentioning: ["tensor 'conv1.weight'", "data_offsets [0, 37632]", "run past the end"])
        try assertRejects(Array(full.prefix(40)), mentioning: ["header length", "runs past the end of the 40-byte file"])
    }

    func testHeaderNotUTF8() throws {
        let json = Array(#"{"w":{"dtype":"F"#.utf8) + [0xFF] + Array(#"32","shape":[],"data_offsets":[0,4]}}"#.utf8)
        try assertRejects(withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json + [0, 0, 0, 0],
                          mentioning: ["not valid UTF-8"])
    }

    func testHeaderNotJSON() throws {
        try assertRejects(file(header: #"{"w": 1} x"#), mentioning: ["header is not valid JSON", "character 9"])
        try assertRejects(file(header: "   "), mentioning: ["header is not valid JSON"])
    }

    func testHeaderNotAnObject() throws {
        try assertRejects(file(header: "[1, 2]"), mentioning: ["header must be a JSON object, found an array"])
        try assertRejects(file(header: "\"F32\""), mentioning: ["header must be a JSON object, found a string"])
    }

    /// Deep nesting must be refused by the parser's depth limit, not overflow the stack.
    func testDeeplyNestedHeaderDoesNotCrash() throws {
        try assertRejects(file(header: String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)),
                          mentioning: ["header is not valid JSON", "nested"])
        try assertRejects(file(header: #"{"w":"# + String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_001)),
                          mentioning: ["header is not valid JSON", "nested"])
    }

    // MARK: Hostile files: entries

    func testEntryNotAnObject() throws {
        try assertRejects(file(header: #"{"conv1.weight": [0, 4]}"#), mentioning: ["tensor 'conv1.weight'", "must be an object, found an array"])
    }

    func testEntryMissingFields() throws {
        let fields = [#""dtype":"F32""#, #""shape":[1]"#, #""data_offsets":[0,4]"#]
        for (missing, name) in zip(fields.indices, ["dtype", "shape", "data_offsets"]) {
            let present = fields.indices.filter { $0 != missing }.map { fields[$0] }.joined(separator: ",")
            try assertRejects(file(header: #"{"fc.weight":{"# + present + "}}", data: [0, 0, 0, 0]),
                              mentioning: ["tensor 'fc.weight'", "missing \"\(name)\""])
        }
    }

    func testEntryFieldsWithWrongJSONTypes() throws {
        let cases: [(String, String, String)] = [
            (#"7"#, #"[1]"#, #"[0,4]"#, ),
            (#""F32""#, #""1""#, #"[0,4]"#),
            (#""F32""#, #"[1.5]"#, #"[0,4]"#),
            (#""F32""#, #"[true]"#, #"[0,4]"#),
            (#""F32""#, #"[1]"#, #"{"begin":0}"#),
            (#""F32""#, #"[1]"#, #"[0,"4"]"#),
            (#""F32""#, #"[1]"#, #"[0,null]"#),
            (#""F32""#, #"[1]"#, #"[0,99999999999999999999]"#),
        ]
        let expected = [
            #""dtype" must be a string, found an integer"#,
            #""shape" must be an array of integers, found a string"#,
            #""shape" must be an array of integers, found a non-integer number at index 0"#,
            #""shape" must be an array of integers, found a boolean at index 0"#,
            #""data_offsets" must be an array of integers, found an object"#,
            #""data_offsets" must be an array of integers, found a string at index 1"#,
            #""data_offsets" must be an array of integers, found null at index 1"#,
            #""data_offsets" must be an array of integers, found a non-integer number at index 1"#,
        ]
        for ((dtype, shape, offsets), message) in zip(cases, expected) {
            let header = #"{"layer1.0.conv1.weight":{"dtype":\#(dtype),"shape":\#(shape),"data_offsets":\#(offsets)}}"#
            try assertRejects(file(header: header, data: [0, 0, 0, 0]), mentioning: ["tensor 'layer1.0.conv1.weight'", message])
        }
    }

    func testUnknownDType() throws {
        try assertRejects(file(header: #"{"mask":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                          mentioning: ["tensor 'mask'", "unsupported dtype 'I32'", "supported: F32, F16, BF16, I64"])
    }

    func testNegativeDimension() throws {
        try assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[2,-2],"data_offsets":[0,16]}}"#, data: Array(repeating: 0, count: 16)),
                          mentioning: ["tensor 'w'", "shape [2, -2] has a negative dimension"])
    }

    func testElementCountOverflow() throws {
        try assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#),
                          mentioning: ["tensor 'w'", "shape [4294967296, 4294967296]", "too many elements"])
        // The element count fits; the byte count (× 8 for I64) does not.
        try assertRejects(file(header: #"{"w":{"dtype":"I64","shape":[4611686018427387904],"data_offsets":[0,0]}}"#),
                          mentioning: ["tensor 'w'", "too many elements"])
    }

    func testBadDataOffsets() throws {
        let four: [UInt8] = [0, 0, 0, 0]
        try assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: four),
                          mentioning: ["tensor 'w'", "data_offsets [0, 4, 8] must be two integers"])
        try assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4]}}"#, data: four),
                          mentioning: ["tensor 'w'", "data_offsets [4] must be two integers"])
        try assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: four),
                          mentioning: ["tensor 'w'", "data_offsets [-4, 0] must not be negative"])
        try assertRejects(file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: four),
                          mentioning: ["tensor 'w'", "data_offsets [4, 0] begin after they end"])
    }

    func testOffsetsPastTheEnd() throws {
        let header = #"{"conv1.weight":{"dtype":"F32","shape":[24999999,1],"data_offsets":[0,99999999]}}"#
        let url = try write(file(header: header, data: Array(repeating: 0, count: 4096)), name: "model.safetensors")
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: url)) {
            XCTAssertEqual("\($0)", "model.safetensors: tensor 'conv1.weight': data_offsets [0, 99999999] run past the end of the 4096-byte data buffer")
        }
        try assertRejects(file(header: #"{"w":{"dtype":"I64","shape":[1],"data_offsets":[9223372036854775800,9223372036854775807]}}"#),
                          mentioning: ["tensor 'w'", "run past the end of the 0-byte data buffer"])
    }

    func testByteLengthMismatch() throws {
        try assertRejects(file(header: #"{"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,16]}}"#, data: Array(repeating: 0, count: 16)),
                          mentioning: ["tensor 'w'", "hold 16 bytes but shape [2, 3] of F16 needs 12"])
    }

    func testOverlappingTensors() throws {
        let header = """
            {"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},\
            "b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},\
            "c":{"dtype":"BF16","shape":[4],"data_offsets":[20,28]},\
            "e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}
            """
        try assertRejects(file(header: header, data: Array(repeating: 0, count: 28)),
                          mentioning: ["tensors 'b' [16, 24] and 'c' [20, 28] overlap"])
        let same = #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        try assertRejects(file(header: same, data: [0, 0, 0, 0]), mentioning: ["'x'", "'y'", "overlap"])
    }

    func testMetadataMustBeStrings() throws {
        try assertRejects(file(header: #"{"__metadata__":{"format":"pt","epochs":30}}"#),
                          mentioning: ["\"__metadata__\" key 'epochs' must have a string value, found an integer"])
        try assertRejects(file(header: #"{"__metadata__":["pt"]}"#),
                          mentioning: ["\"__metadata__\" must be an object of strings, found an array"])
    }

    /// Trailing spaces are the reference padding; holes between tensors are tolerated.
    func testPaddedHeaderAndGapsAreAccepted() throws {
        let header = #"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"# + "     "
        let file = try SafeTensorsFile(contentsOf: write(file(header: header, data: [9, 9, 9, 9] + bytes([Float(2)])), name: "padded.safetensors"))
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(try file.floats("w"), [2])
    }

    // MARK: Writer

    func testWriterRejectsBadTensors() {
        var writer = SafeTensorsWriter()
        XCTAssertThrowsError(try writer.add("fc.weight", shape: [2, 3], floats: [1, 2, 3, 4, 5])) {
            XCTAssertEqual("\($0)", "safetensors writer: tensor 'fc.weight': shape [2, 3] holds 6 elements but 5 were given")
        }
        XCTAssertThrowsError(try writer.add("fc.bias", shape: [], int64s: [])) {
            XCTAssertTrue("\($0)".contains("holds 1 elements but 0 were given"))
        }
        XCTAssertThrowsError(try writer.add("neg", shape: [-1, -1], floats: [1])) {
            XCTAssertTrue("\($0)".contains("negative dimension"))
        }
        XCTAssertThrowsError(try writer.add("big", shape: [Int.max, 2], floats: [])) {
            XCTAssertTrue("\($0)".contains("too many elements"))
        }
        XCTAssertThrowsError(try writer.add("", shape: [1], floats: [1])) {
            XCTAssertTrue("\($0)".contains("must not be empty"))
        }
        XCTAssertThrowsError(try writer.add("__metadata__", shape: [1], floats: [1])) {
            XCTAssertTrue("\($0)".contains("reserved"))
        }
        XCTAssertNoThrow(try writer.add("w", shape: [1], floats: [1]))
        XCTAssertThrowsError(try writer.add("w", shape: [1], int64s: [1])) {
            XCTAssertEqual("\($0)", "safetensors writer: tensor 'w' was already added")
        }
    }

    func testAtomicWriteReplacesTargetAndLeavesNoTemporaryFile() throws {
        let url = directory.appendingPathComponent("model.safetensors")
        try Data("old contents".utf8).write(to: url)
        var writer = SafeTensorsWriter()
        try writer.add("w", shape: [2], floats: [1, 2])
        try writer.write(to: url)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.safetensors"])
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url).floats("w"), [1, 2])

        let missing = directory.appendingPathComponent("no-such-dir/model.safetensors")
        XCTAssertThrowsError(try writer.write(to: missing)) {
            XCTAssertTrue("\($0)".hasPrefix("\(missing.path): cannot create the temporary file: No such file or directory"), "\($0)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.safetensors"])
    }

    func testWriteOntoDirectoryFailsAndCleansUp() throws {
        let target = directory.appendingPathComponent("taken")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: false)
        try Data().write(to: target.appendingPathComponent("x"))
        XCTAssertThrowsError(try SafeTensorsWriter().write(to: target)) {
            XCTAssertTrue("\($0)".hasPrefix("\(target.path): cannot rename the temporary file into place"), "\($0)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["taken"])
    }

    func testOpeningMissingFileOrDirectoryFails() {
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: directory.appendingPathComponent("absent.safetensors"))) {
            XCTAssertTrue("\($0)".hasPrefix("absent.safetensors: cannot open: "), "\($0)")
        }
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: directory)) {
            XCTAssertTrue("\($0)".hasSuffix(": not a regular file"), "\($0)")
        }
    }
}
