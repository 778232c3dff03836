import CImageCodecs
import Dermoscopy
import Foundation
import NeuralNet
import XCTest

final class ImageDecoderTests: XCTestCase {
    /// 4:4:4, 4:2:2 and 4:2:0 files, the three layouts in the HAM10000 sample.
    static let hamNames = [
        "HAM10000_images_part_1/ISIC_0024306.jpg", "HAM10000_images_part_2/ISIC_0032258.jpg",
        "HAM10000_images_part_1/ISIC_0024340.jpg", "HAM10000_images_part_1/ISIC_0026034.jpg",
    ]

    // MARK: Real files against Pillow

    func testFullDecodeOfRealFilesEqualsPillowExactly() throws {
        let files = try PillowReference.hamFiles(Self.hamNames)
        let expected = try PillowReference.decode(files, mode: .full)
        for (file, reference) in zip(files, expected) {
            let image = try ImageDecoder.decode(contentsOf: file)
            XCTAssertEqual(image.width, 600, file.lastPathComponent)
            XCTAssertEqual(image.height, 450, file.lastPathComponent)
            XCTAssertEqual(PillowReference.maxDifference(image, reference), 0, "\(file.lastPathComponent) differs from Pillow")
            XCTAssertTrue(image == reference, file.lastPathComponent)
        }
    }

    func testScaledDecodeOfRealFilesIsHalfSizeAndEqualsPillowDraft() throws {
        let files = try PillowReference.hamFiles(Self.hamNames)
        let expected = try PillowReference.decode(files, mode: .draft, size: 224)
        for (file, reference) in zip(files, expected) {
            let image = try ImageDecoder.decode(contentsOf: file, minimumSize: (224, 224))
            XCTAssertEqual([image.width, image.height], [300, 225], file.lastPathComponent)
            XCTAssertEqual(PillowReference.maxDifference(image, reference), 0,
                           "\(file.lastPathComponent) differs from Pillow's draft")
        }
    }

    func testScaleFactorKeepsTheMinimumSize() throws {
        let file = try PillowReference.hamFiles([Self.hamNames[0]])[0]
        func size(_ minimum: (Int, Int)) throws -> [Int] {
            let image = try ImageDecoder.decode(contentsOf: file, minimumSize: minimum)
            return [image.width, image.height]
        }
        XCTAssertEqual(try size((301, 100)), [600, 450], "1/2 would be 300 wide, under 301")
        XCTAssertEqual(try size((300, 226)), [600, 450], "1/2 would be 225 high, under 226")
        XCTAssertEqual(try size((300, 225)), [300, 225])
        XCTAssertEqual(try size((150, 113)), [150, 113])
        XCTAssertEqual(try size((75, 57)), [75, 57])
        XCTAssertEqual(try size((10, 10)), [75, 57], "1/8 is the strongest reduction")
    }

    func testTruncatedRealFileIsAnError() throws {
        let file = try PillowReference.hamFiles([Self.hamNames[0]])[0]
        let bytes = try Data(contentsOf: file)
        let cut = try write(bytes.prefix(bytes.count / 2), named: "ISIC_cut.jpg")
        assertImageError(try ImageDecoder.decode(contentsOf: cut), mentions: ["ISIC_cut.jpg", "truncated JPEG data"])
        assertImageError(try ImageDecoder.decode(contentsOf: cut, minimumSize: (224, 224)), mentions: ["truncated"])
    }

    // MARK: JPEG variants

    func testGrayscaleJPEGBecomesRGB() throws {
        let gray = (0..<(16 * 8)).map { UInt8($0 * 2) }
        let jpeg = try ImageFixtures.jpeg(width: 16, height: 8, pixels: gray, format: TJPF_GRAY)
        let image = try ImageDecoder.decode(Data(jpeg), name: "gray.jpg")
        XCTAssertEqual([image.width, image.height], [16, 8])
        for i in 0..<(16 * 8) {
            let (r, g, b) = image[i % 16, i / 16]
            XCTAssertTrue(r == g && g == b, "pixel \(i) is not gray: \(r) \(g) \(b)")
            XCTAssertLessThanOrEqual(abs(Int(r) - Int(gray[i])), 2, "pixel \(i)")
        }
    }

    func testAdobeCMYKJPEGBecomesRGB() throws {
        // Ink (C, M, Y, K) → expected RGB; stored inverted, as Adobe applications write them.
        let inks: [([UInt8], (UInt8, UInt8, UInt8))] = [
            ([255, 0, 0, 0], (0, 255, 255)), ([0, 255, 0, 0], (255, 0, 255)), ([0, 0, 255, 0], (255, 255, 0)),
            ([0, 0, 0, 255], (0, 0, 0)), ([0, 0, 0, 0], (255, 255, 255)), ([0, 0, 0, 128], (127, 127, 127)),
        ]
        var cmyk: [UInt8] = []
        for y in 0..<8 {
            for x in 0..<(8 * inks.count) { _ = y; cmyk += inks[x / 8].0.map { 255 - $0 } }
        }
        let jpeg = try ImageFixtures.jpeg(width: 8 * inks.count, height: 8, pixels: cmyk, format: TJPF_CMYK)
        let image = try ImageDecoder.decode(Data(jpeg), name: "cmyk.jpg")
        XCTAssertEqual([image.width, image.height], [8 * inks.count, 8])
        for (block, (_, expected)) in inks.enumerated() {
            let (r, g, b) = image[block * 8 + 4, 4]
            let differences = [Int(r) - Int(expected.0), Int(g) - Int(expected.1), Int(b) - Int(expected.2)].map(abs)
            XCTAssertLessThanOrEqual(differences.max()!, 3, "ink \(inks[block].0): got \(r) \(g) \(b), expected \(expected)")
        }
    }

    // MARK: EXIF orientation

    /// Where the stored top-left, top-right and bottom-left corners end up in the upright
    /// picture, per EXIF orientation (TIFF 6.0): the whole mapping follows from three corners.
    static let corners: [Int: (topLeft: Corner, topRight: Corner, bottomLeft: Corner)] = [
        1: (.topLeft, .topRight, .bottomLeft), 2: (.topRight, .topLeft, .bottomRight),
        3: (.bottomRight, .bottomLeft, .topRight), 4: (.bottomLeft, .bottomRight, .topLeft),
        5: (.topLeft, .bottomLeft, .topRight), 6: (.topRight, .bottomRight, .topLeft),
        7: (.bottomRight, .topRight, .bottomLeft), 8: (.bottomLeft, .topLeft, .bottomRight),
    ]

    enum Corner {
        case topLeft, topRight, bottomLeft, bottomRight

        func position(width: Int, height: Int) -> (Int, Int) {
            switch self {
            case .topLeft: (0, 0)
            case .topRight: (width - 1, 0)
            case .bottomLeft: (0, height - 1)
            case .bottomRight: (width - 1, height - 1)
            }
        }
    }

    /// `stored` as it should look upright under `orientation`, placed by the corner table.
    func upright(_ stored: RGBImage, orientation: Int) -> RGBImage {
        let (w, h) = (stored.width, stored.height)
        let (ow, oh) = orientation >= 5 ? (h, w) : (w, h)
        let corners = Self.corners[orientation]!
        let origin = corners.topLeft.position(width: ow, height: oh)
        let right = corners.topRight.position(width: ow, height: oh)
        let down = corners.bottomLeft.position(width: ow, height: oh)
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let ox = origin.0 + (right.0 - origin.0) / (w - 1) * x + (down.0 - origin.0) / (h - 1) * y
                let oy = origin.1 + (right.1 - origin.1) / (w - 1) * x + (down.1 - origin.1) / (h - 1) * y
                for c in 0..<3 { pixels[(oy * ow + ox) * 3 + c] = stored.pixels[(y * w + x) * 3 + c] }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: pixels)
    }

    func testAllEightEXIFOrientationsInBothByteOrders() throws {
        // 3 × 2 blocks of distinct colours: no flip or rotation maps it onto itself.
        let colors: [(UInt8, UInt8, UInt8)] = [
            (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255),
        ]
        let (width, height, pixels) = ImageFixtures.blocks(colors, columns: 3)
        let jpeg = try ImageFixtures.jpeg(width: width, height: height, pixels: pixels)
        let stored = try ImageDecoder.decode(Data(jpeg), name: "stored.jpg")
        for orientation in 1...8 {
            for bigEndian in [false, true] {
                let label = "orientation \(orientation), \(bigEndian ? "MM" : "II")"
                let tagged = ImageFixtures.withOrientation(orientation, bigEndian: bigEndian, jpeg)
                let image = try ImageDecoder.decode(Data(tagged), name: "oriented.jpg")
                XCTAssertTrue(image == upright(stored, orientation: orientation), label)
                // And in absolute terms: where the stored red top-left block went.
                let red = Self.corners[orientation]!.topLeft.position(width: image.width, height: image.height)
                let (r, g, b) = image[red.0, red.1]
                XCTAssertTrue(r > 240 && g < 15 && b < 15, "\(label): red corner at \(red) is \(r) \(g) \(b)")
            }
        }
    }

    func testOrientationSwapsAxesForScaledDecodeAndSize() throws {
        let (width, height, pixels) = ImageFixtures.blocks(Array(repeating: (90, 120, 150), count: 8 * 4), columns: 8)
        let stored = try ImageFixtures.jpeg(width: width, height: height, pixels: pixels)
        let jpeg = ImageFixtures.withOrientation(6, bigEndian: true, stored)
        // Stored 64×32, upright 32×64: a minimum of 16×32 allows 1/2 (stored 32×16) but not 1/4.
        let image = try ImageDecoder.decode(Data(jpeg), name: "rotated.jpg", minimumSize: (16, 32))
        XCTAssertEqual([image.width, image.height], [16, 32])
        let file = try write(Data(jpeg), named: "rotated.jpg")
        let size = try ImageDecoder.size(contentsOf: file)
        XCTAssertEqual([size.width, size.height], [32, 64])
    }

    func testSizeReadsPastLargeHeaderSegments() throws {
        let (width, height, pixels) = ImageFixtures.blocks(Array(repeating: (1, 2, 3), count: 6), columns: 3)
        var jpeg = try ImageFixtures.jpeg(width: width, height: height, pixels: pixels)
        // Two 64 KiB APP2 segments push the frame header past the first read.
        for _ in 0..<2 { jpeg = ImageFixtures.inserting(marker: 0xE2, body: [UInt8](repeating: 7, count: 65_000), into: jpeg) }
        let file = try write(Data(ImageFixtures.withOrientation(8, bigEndian: false, jpeg)), named: "big-header.jpg")
        let size = try ImageDecoder.size(contentsOf: file)
        XCTAssertEqual([size.width, size.height], [16, 24])
    }

    // MARK: PNG variants

    func testPNGGrayBecomesRGB() throws {
        let gray: [UInt8] = [0, 50, 100, 150, 200, 255]
        let image = try decodePNG(width: 3, height: 2, colorType: 0, samples: gray)
        XCTAssertEqual([image.width, image.height], [3, 2])
        XCTAssertEqual(image.pixels, gray.flatMap { [$0, $0, $0] })
    }

    func testPNGGrayAlphaDropsAlphaKeepingStoredGray() throws {
        let samples: [UInt8] = [10, 255, 20, 128, 30, 0, 40, 64]  // (gray, alpha) pairs
        let image = try decodePNG(width: 2, height: 2, colorType: 4, samples: samples)
        XCTAssertEqual(image.pixels, [10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40])
    }

    func testPNGRGBADropsAlphaKeepingStoredColour() throws {
        let samples: [UInt8] = [255, 0, 0, 255, 0, 200, 0, 0, 10, 20, 30, 128]
        let image = try decodePNG(width: 3, height: 1, colorType: 6, samples: samples)
        XCTAssertEqual(image.pixels, [255, 0, 0, 0, 200, 0, 10, 20, 30], "a fully transparent pixel keeps its colour")
    }

    func testPNG16BitIsReducedWithoutGammaConversion() throws {
        // Multiples of 257 reduce to exact bytes; a linear-light reading would turn 0x8080 into ~188.
        let values: [UInt8] = [0, 50, 128, 200, 255, 7]
        let samples = values.flatMap { [UInt8($0), UInt8($0)] }  // v × 257 = (v << 8) | v, big-endian
        let image = try decodePNG(width: 2, height: 1, colorType: 2, bitDepth: 16, samples: samples)
        XCTAssertEqual(image.pixels, values)
    }

    func testPNGPaletteWithTransparencyBecomesRGB() throws {
        let palette: [UInt8] = [255, 0, 0, 0, 128, 0, 1, 2, 3]
        let indices: [UInt8] = [0, 1, 2, 2, 1, 0]
        let image = try decodePNG(width: 3, height: 2, colorType: 3, samples: indices,
                                  chunks: [("PLTE", palette), ("tRNS", [255, 0])])
        XCTAssertEqual(image.pixels, indices.flatMap { Array(palette[Int($0) * 3..<Int($0) * 3 + 3]) })
    }

    func testInterlacedPNGEqualsPlainPNG() throws {
        var rng = SeededGenerator(seed: 3)
        let samples = (0..<(13 * 11 * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let interlaced = try decodePNG(width: 13, height: 11, colorType: 2, samples: samples, interlaced: true)
        XCTAssertEqual([interlaced.width, interlaced.height], [13, 11])
        XCTAssertEqual(interlaced.pixels, samples)
    }

    func testPNGEXIfOrientationIsApplied() throws {
        let samples: [UInt8] = [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6]  // 3×2, values 1...6
        for exif in [ImageFixtures.tiff(orientation: 6, bigEndian: false),
                     Array("Exif\0\0".utf8) + ImageFixtures.tiff(orientation: 6, bigEndian: true)] {
            let image = try decodePNG(width: 3, height: 2, colorType: 2, samples: samples, chunks: [("eXIf", exif)])
            // Rotated 90° clockwise: rows are the stored columns read bottom to top.
            XCTAssertEqual([image.width, image.height], [2, 3])
            XCTAssertEqual(image.pixels.enumerated().filter { $0.offset % 3 == 0 }.map(\.element), [4, 1, 5, 2, 6, 3])
        }
    }

    func testPNGSizeReadsHeaderAndOrientation() throws {
        let samples = [UInt8](repeating: 9, count: 5 * 2 * 3)
        let png = ImageFixtures.png(width: 5, height: 2, colorType: 2, samples: samples,
                                    chunks: [("eXIf", ImageFixtures.tiff(orientation: 8, bigEndian: false))])
        let size = try ImageDecoder.size(contentsOf: try write(Data(png), named: "tall.png"))
        XCTAssertEqual([size.width, size.height], [2, 5])
    }

    func testFormatIsSniffedFromBytesNotExtension() throws {
        let png = ImageFixtures.png(width: 1, height: 1, colorType: 2, samples: [7, 8, 9])
        XCTAssertEqual(ImageFormat.sniff(Data(png)), .png)
        let image = try ImageDecoder.decode(contentsOf: try write(Data(png), named: "actually-a-png.jpg"))
        XCTAssertEqual(image.pixels, [7, 8, 9])
        XCTAssertNil(ImageFormat.sniff(Data("GIF89a".utf8)))
    }

    // MARK: Hostile input

    func testTruncatedSyntheticJPEGIsAnError() throws {
        var rng = SeededGenerator(seed: 11)
        let noise = (0..<(128 * 96 * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let jpeg = try ImageFixtures.jpeg(width: 128, height: 96, pixels: noise, quality: 95)
        assertImageError(try ImageDecoder.decode(Data(jpeg.prefix(jpeg.count / 2)), name: "upload-7"),
                         mentions: ["upload-7: ", "truncated JPEG data"])
    }

    func testTruncatedPNGIsAnError() throws {
        var rng = SeededGenerator(seed: 12)
        let samples = (0..<(40 * 30 * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let png = ImageFixtures.png(width: 40, height: 30, colorType: 2, samples: samples)
        assertImageError(try ImageDecoder.decode(Data(png.prefix(png.count / 2)), name: "half.png"),
                         mentions: ["half.png", "PNG data"])
    }

    func testZeroByteFileIsAnError() throws {
        let file = try write(Data(), named: "empty.jpg")
        assertImageError(try ImageDecoder.decode(contentsOf: file), mentions: ["empty.jpg", "empty file", "JPEG or PNG"])
        assertImageError(try ImageDecoder.size(contentsOf: file), mentions: ["empty.jpg", "empty file"])
    }

    func testRandomBytesAreAnError() throws {
        var rng = SeededGenerator(seed: 5)
        var bytes = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        bytes[0] = 0x3C  // not 0xFF or 0x89 by chance
        assertImageError(try ImageDecoder.decode(Data(bytes), name: "noise.bin"),
                         mentions: ["noise.bin", "not a JPEG or PNG image", "3C"])
        // Random bytes behind valid magic numbers.
        assertImageError(try ImageDecoder.decode(Data([0xFF, 0xD8, 0xFF] + bytes), name: "noise.jpg"),
                         mentions: ["noise.jpg", "JPEG"])
        let pngMagic: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        assertImageError(try ImageDecoder.decode(Data(pngMagic + bytes), name: "noise.png"), mentions: ["noise.png", "PNG"])
    }

    func testPNGClaimingHugeDimensionsFailsFastAtTheLimit() throws {
        let png = ImageFixtures.png(claimingWidth: 100_000, height: 100_000)
        let file = try write(Data(png), named: "huge.png")
        let start = Date()
        assertImageError(try ImageDecoder.decode(contentsOf: file),
                         mentions: ["huge.png", "100000×100000", "10000000000", "limit of 64000000 pixels"])
        assertImageError(try ImageDecoder.size(contentsOf: file), mentions: ["huge.png", "100000×100000"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 1, "rejecting a header must not touch 30 GB")
    }

    func testJPEGClaimingHugeDimensionsFailsAtTheLimit() throws {
        let (width, height, pixels) = ImageFixtures.blocks([(1, 2, 3)], columns: 1)
        let jpeg = try ImageFixtures.declaringSize(width: 60_000, height: 60_000,
                                                   try ImageFixtures.jpeg(width: width, height: height, pixels: pixels))
        assertImageError(try ImageDecoder.decode(Data(jpeg), name: "huge.jpg"),
                         mentions: ["huge.jpg", "60000×60000", "limit of 64000000 pixels"])
        let small = DecodeLimits(maxPixels: 63)
        assertImageError(try ImageDecoder.decode(Data(try ImageFixtures.jpeg(width: width, height: height, pixels: pixels)),
                                                 name: "8x8.jpg", limits: small),
                         mentions: ["8x8.jpg", "8×8", "limit of 63 pixels"])
    }

    func testFileOverTheSizeLimitIsRejectedBeforeReading() throws {
        let file = try write(Data(repeating: 0xFF, count: 5000), named: "large.jpg")
        let limits = DecodeLimits(maxFileBytes: 4096)
        assertImageError(try ImageDecoder.decode(contentsOf: file, limits: limits),
                         mentions: ["large.jpg", "5000 bytes", "limit of 4096 bytes"])
        assertImageError(try ImageDecoder.size(contentsOf: file, limits: limits), mentions: ["large.jpg", "limit"])
        assertImageError(try ImageDecoder.decode(Data(count: 5000), name: "upload", limits: limits),
                         mentions: ["upload", "limit of 4096 bytes"])
    }

    func testMissingFileIsAnError() {
        let file = URL(fileURLWithPath: "/nonexistent/ISIC_missing.jpg")
        assertImageError(try ImageDecoder.decode(contentsOf: file), mentions: ["ISIC_missing.jpg", "cannot open"])
    }

    func testErrorDescriptionIsFileThenMessage() {
        let error = ImageError(file: "ISIC_1.jpg", message: "truncated JPEG data (premature end of data segment)")
        XCTAssertEqual(error.description, "ISIC_1.jpg: truncated JPEG data (premature end of data segment)")
    }

    // MARK: Helpers

    private var directory: URL?

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(at: directory) }
        super.tearDown()
    }

    private func write(_ data: Data, named name: String) throws -> URL {
        if directory == nil { directory = try ImageFixtures.temporaryDirectory() }
        let url = directory!.appendingPathComponent(name)
        try data.write(to: url)
        return url
    }

    private func decodePNG(width: Int, height: Int, colorType: UInt8, bitDepth: UInt8 = 8, samples: [UInt8],
                           interlaced: Bool = false, chunks: [(type: String, data: [UInt8])] = []) throws -> RGBImage {
        let png = ImageFixtures.png(width: width, height: height, colorType: colorType, bitDepth: bitDepth,
                                    samples: samples, interlaced: interlaced, chunks: chunks)
        return try ImageDecoder.decode(Data(png), name: "fixture.png")
    }

    private func assertImageError<T>(_ body: @autoclosure () throws -> T, mentions parts: [String],
                                     file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("expected an ImageError mentioning \(parts)", file: file, line: line)
        } catch let error as ImageError {
            for part in parts {
                XCTAssertTrue(error.description.contains(part), "\"\(error)\" does not mention \"\(part)\"",
                              file: file, line: line)
            }
        } catch {
            XCTFail("expected an ImageError, got \(error)", file: file, line: line)
        }
    }
}
