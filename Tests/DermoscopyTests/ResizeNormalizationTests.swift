import Dermoscopy
import Foundation
import NeuralNet
import XCTest

final class ResizeNormalizationTests: XCTestCase {
    // MARK: Resize

    func testConstantImageStaysConstant() {
        let image = RGBImage(width: 37, height: 23, filledWith: (10, 200, 255))
        for (width, height) in [(13, 29), (100, 7), (37, 23), (1, 1), (300, 200)] {
            let resized = Resize.resize(image, width: width, height: height)
            XCTAssertEqual([resized.width, resized.height], [width, height])
            XCTAssertEqual(resized, RGBImage(width: width, height: height, filledWith: (10, 200, 255)), "\(width)×\(height)")
        }
        XCTAssertEqual(Resize.shorterSideThenCenterCrop(image, size: 16),
                       RGBImage(width: 16, height: 16, filledWith: (10, 200, 255)))
    }

    func testSameSizeResizeIsTheIdentity() {
        let image = noise(width: 31, height: 17, seed: 1)
        XCTAssertEqual(Resize.resize(image, width: 31, height: 17), image)
    }

    /// Integer-factor downscales of a smooth pattern agree with a plain block average: the
    /// triangle filter and the box differ only in second-order terms there.
    func testDownscaleOfSmoothPatternMatchesAreaAverage() {
        for factor in [2, 3, 4] {
            let (width, height) = (64 * factor, 48 * factor)
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            for y in 0..<height {
                for x in 0..<width {
                    let u = cos(2 * Double.pi * Double(x) / Double(width)), v = cos(2 * Double.pi * Double(y) / Double(height))
                    for (c, value) in [128 + 60 * u + 60 * v, 128 + 100 * u * v, 128 - 90 * u][...].enumerated() {
                        pixels[(y * width + x) * 3 + c] = UInt8(value.rounded())
                    }
                }
            }
            let image = RGBImage(width: width, height: height, pixels: pixels)
            let resized = Resize.resize(image, width: 64, height: 48)
            let reference = areaAverage(image, factor: factor)
            XCTAssertLessThanOrEqual(PillowReference.maxDifference(resized, reference), 1, "factor \(factor)")
        }
    }

    /// A one-pixel checkerboard must come out as its mean, not as whichever squares a
    /// non-antialiased resize would happen to sample. Outputs whose filter window is cut by
    /// the border are left out: there, like Pillow, the truncated window is renormalised.
    func testFineCheckerboardIsAveragedNotAliased() {
        var pixels = [UInt8](repeating: 0, count: 96 * 96 * 3)
        for y in 0..<96 { for x in 0..<96 where (x + y) % 2 == 0 { for c in 0..<3 { pixels[(y * 96 + x) * 3 + c] = 200 } } }
        for size in [24, 32, 48] {
            let resized = Resize.resize(RGBImage(width: 96, height: 96, pixels: pixels), width: size, height: size)
            for y in 1..<(size - 1) {
                for x in 1..<(size - 1) {
                    XCTAssertLessThanOrEqual(abs(Int(resized[x, y].0) - 100), 1, "\(size): (\(x), \(y)) is \(resized[x, y].0)")
                }
            }
        }
    }

    func testShorterSideThenCenterCropGeometry() {
        let landscape = noise(width: 600, height: 450, seed: 2)
        let square = Resize.shorterSideThenCenterCrop(landscape, size: 224)
        XCTAssertEqual([square.width, square.height], [224, 224])
        // Shorter side 450 → 224, longer 600 → Int(224 × 600 / 450) = 298, crop offset (298 − 224) / 2 = 37.
        XCTAssertEqual(square, crop(Resize.resize(landscape, width: 298, height: 224), x: 37, y: 0, size: 224))

        let portrait = noise(width: 450, height: 600, seed: 3)
        let tall = Resize.shorterSideThenCenterCrop(portrait, size: 224)
        XCTAssertEqual(tall, crop(Resize.resize(portrait, width: 224, height: 298), x: 0, y: 37, size: 224))

        // (299 − 224) / 2 = 37.5 rounds half to even (Python's round), to 38.
        let odd = noise(width: 299, height: 224, seed: 4)
        XCTAssertEqual(Resize.shorterSideThenCenterCrop(odd, size: 224), crop(odd, x: 38, y: 0, size: 224))
    }

    /// torchvision's Resize + CenterCrop as Pillow computes them (the `crop` modes of
    /// PillowReference), from a full-size and from a DCT-scaled decode.
    func testResizeAndCropOfRealFilesEqualPillowExactly() throws {
        let files = try PillowReference.hamFiles(ImageDecoderTests.hamNames)
        let full = try PillowReference.decode(files, mode: .crop, size: 224)
        let draft = try PillowReference.decode(files, mode: .draftCrop, size: 224)
        for (i, file) in files.enumerated() {
            let fromFull = Resize.shorterSideThenCenterCrop(try ImageDecoder.decode(contentsOf: file), size: 224)
            XCTAssertEqual(PillowReference.maxDifference(fromFull, full[i]), 0, "\(file.lastPathComponent), full-size decode")
            XCTAssertTrue(fromFull == full[i], file.lastPathComponent)
            let scaled = try ImageDecoder.decode(contentsOf: file, minimumSize: (224, 224))
            let fromScaled = Resize.shorterSideThenCenterCrop(scaled, size: 224)
            XCTAssertEqual([fromScaled.width, fromScaled.height], [224, 224])
            XCTAssertEqual(PillowReference.maxDifference(fromScaled, draft[i]), 0,
                           "\(file.lastPathComponent), DCT-scaled decode")
        }
    }

    // MARK: Normalization

    /// Pixels (255, 0, 128) and (10, 20, 30); expected planes computed by hand from the formulas.
    static let twoPixels = RGBImage(width: 2, height: 1, pixels: [255, 0, 128, 10, 20, 30])

    func testTorchvisionAndKerasTorchNormalization() {
        let expected: [Float] = [2.2489083, -1.9466564, -2.0357143, -1.6855742, 0.42649237, -1.2815686]
        assertValues(written(.torchvision), expected, accuracy: 1e-6)
        assertValues(written(.kerasTorch), expected, accuracy: 1e-6)
    }

    func testCaffeNormalizationIsBGRWithMeansSubtracted() {
        // Plane 0 is blue (128, 30), plane 1 green (0, 20), plane 2 red (255, 10).
        assertValues(written(.caffe), [24.061, -73.939, -116.779, -96.779, 131.32, -113.68], accuracy: 1e-4)
    }

    func testTFNormalizationScalesToMinusOneToOne() {
        assertValues(written(.tf), [1, -0.92156863, -1, -0.84313726, 0.003921569, -0.7647059], accuracy: 1e-6)
    }

    func testTFLiteNormalizationIsInceptionStyle() {
        // (x − 127) / 128 for R (255, 10), G (0, 20), B (128, 30).
        assertValues(written(.tfLite), [1, -0.9140625, -0.9921875, -0.8359375, 0.0078125, -0.7578125], accuracy: 1e-7)
    }

    func testNormalizationWritesExactlyOneImageSlot() {
        let image = noise(width: 5, height: 3, seed: 9)
        for mode in Normalization.allCases {
            var buffer = [Float](repeating: .nan, count: 2 * 3 * 15 + 1)
            buffer.withUnsafeMutableBufferPointer { mode.write(image, to: $0.baseAddress! + 3 * 15) }
            XCTAssertTrue(buffer[0..<45].allSatisfy(\.isNaN), "\(mode) wrote before its slot")
            XCTAssertTrue(buffer[45..<90].allSatisfy(\.isFinite), "\(mode) left part of its slot unwritten")
            XCTAssertTrue(buffer[90].isNaN, "\(mode) wrote past its slot")
        }
    }

    func testNormalizationNamesAreStable() throws {
        // Stored in model files: renaming a case would orphan every saved model.
        XCTAssertEqual(Normalization.allCases.map(\.rawValue), ["torchvision", "caffe", "tf", "kerasTorch", "tfLite"])
        XCTAssertEqual(["caffe", "kerasTorch"].compactMap(Normalization.init(rawValue:)), [.caffe, .kerasTorch])
        XCTAssertNil(Normalization(rawValue: "perChannel"), "perChannel needs its mean and std")
    }

    /// Any per-channel scale and offset, RGB: (x/255 − mean)/std, here 2x − 255 for red,
    /// x − 10 for green and −x for blue; values that describe no normalization are refused.
    func testPerChannelNormalization() throws {
        let mode = try XCTUnwrap(Normalization.perChannel(mean: [0.5, 10.0 / 255, 0], std: [0.5 / 255, 1.0 / 255, -1.0 / 255]))
        XCTAssertEqual(mode.rawValue, "perChannel")
        assertValues(written(mode), [255, -235, -10, 10, -128, -30], accuracy: 1e-4)
        XCTAssertNil(Normalization.perChannel(mean: [0, 0, 0], std: [1, 0, 1]))
        XCTAssertNil(Normalization.perChannel(mean: [0, 0], std: [1, 1]))
        XCTAssertNil(Normalization.perChannel(mean: [.nan, 0, 0], std: [1, 1, 1]))
    }

    // MARK: Helpers

    private func written(_ mode: Normalization) -> [Float] {
        var values = [Float](repeating: .nan, count: 6)
        values.withUnsafeMutableBufferPointer { mode.write(Self.twoPixels, to: $0.baseAddress!) }
        return values
    }

    private func assertValues(_ actual: [Float], _ expected: [Float], accuracy: Float,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            XCTAssertEqual(a, e, accuracy: accuracy, "value \(i)", file: file, line: line)
        }
    }

    private func noise(width: Int, height: Int, seed: UInt64) -> RGBImage {
        var rng = SeededGenerator(seed: seed)
        let pixels = (0..<(width * height * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    private func crop(_ image: RGBImage, x: Int, y: Int, size: Int) -> RGBImage {
        var pixels: [UInt8] = []
        for row in y..<(y + size) {
            let first = (row * image.width + x) * 3
            pixels += image.pixels[first..<(first + size * 3)]
        }
        return RGBImage(width: size, height: size, pixels: pixels)
    }

    /// The mean of each `factor`×`factor` block, rounded: the naive reference for downscaling.
    private func areaAverage(_ image: RGBImage, factor: Int) -> RGBImage {
        let (width, height) = (image.width / factor, image.height / factor)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    var sum = 0
                    for dy in 0..<factor {
                        for dx in 0..<factor {
                            sum += Int(image.pixels[((y * factor + dy) * image.width + x * factor + dx) * 3 + c])
                        }
                    }
                    pixels[(y * width + x) * 3 + c] = UInt8((Double(sum) / Double(factor * factor)).rounded())
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
