import Foundation
import XCTest
@testable import Dermoscopy
import NeuralNet

final class AugmentationTests: XCTestCase {
    /// Random pixels with every channel in `range`, so tests can tell padding from image content.
    func randomImage(width: Int, height: Int, seed: UInt64, range: ClosedRange<UInt8> = 0...255) -> RGBImage {
        var rng = SeededGenerator(seed: seed)
        let span = UInt64(range.upperBound - range.lowerBound) + 1
        let pixels = (0..<width * height * 3).map { _ in range.lowerBound + UInt8(rng.next() % span) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// One colour per quadrant of a `side`×`side` image.
    static let quadrantColours: [(UInt8, UInt8, UInt8)] = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]
    func quadrantImage(side: Int) -> RGBImage {
        var image = RGBImage(width: side, height: side)
        for y in 0..<side {
            for x in 0..<side {
                let colour = Self.quadrantColours[(y < side / 2 ? 0 : 2) + (x < side / 2 ? 0 : 1)]
                let k = (y * side + x) * 3
                (image.pixels[k], image.pixels[k + 1], image.pixels[k + 2]) = colour
            }
        }
        return image
    }

    func pixelSet(_ image: RGBImage) -> Set<[UInt8]> {
        Set(stride(from: 0, to: image.pixels.count, by: 3).map { Array(image.pixels[$0..<$0 + 3]) })
    }

    /// Bilinear resize written the obvious way (PyTorch `interpolate(align_corners: false)`).
    func referenceResize(_ image: RGBImage, size: Int) -> RGBImage {
        var out = RGBImage(width: size, height: size)
        func axis(_ i: Int, _ n: Int) -> (Int, Int, Double) {
            let x = min(max((Double(i) + 0.5) * Double(n) / Double(size) - 0.5, 0), Double(n - 1))
            let x0 = Int(x.rounded(.down))
            return (x0, min(x0 + 1, n - 1), x - Double(x0))
        }
        for i in 0..<size {
            let (y0, y1, fy) = axis(i, image.height)
            for j in 0..<size {
                let (x0, x1, fx) = axis(j, image.width)
                for ch in 0..<3 {
                    func p(_ x: Int, _ y: Int) -> Double { Double(image.pixels[(y * image.width + x) * 3 + ch]) }
                    let v = (1 - fy) * ((1 - fx) * p(x0, y0) + fx * p(x1, y0)) + fy * ((1 - fx) * p(x0, y1) + fx * p(x1, y1))
                    out.pixels[(i * size + j) * 3 + ch] = UInt8(v.rounded())
                }
            }
        }
        return out
    }

    func augment(_ image: RGBImage, _ config: AugmentationConfig, size: Int, seed: UInt64) -> RGBImage {
        var rng = SeededGenerator(seed: seed)
        return Augmenter(config).apply(image, size: size, rng: &rng)
    }

    // MARK: - Reproducibility and the identity

    func testSameSeedGivesSameViewAndDifferentSeedsDiffer() {
        let image = randomImage(width: 40, height: 30, seed: 1)
        let a = augment(image, .dermoscopy, size: 32, seed: 7), b = augment(image, .dermoscopy, size: 32, seed: 7)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, augment(image, .dermoscopy, size: 32, seed: 8))
    }

    func testNoneIsAPlainResize() {
        let image = randomImage(width: 300, height: 225, seed: 2)
        let view = augment(image, .none, size: 224, seed: 3)
        XCTAssertEqual(view.width, 224)
        XCTAssertEqual(view.height, 224)
        let reference = referenceResize(image, size: 224)
        XCTAssertLessThanOrEqual(zip(view.pixels, reference.pixels).map { abs(Int($0) - Int($1)) }.max()!, 1)

        let constant = RGBImage(width: 300, height: 225, filledWith: (12, 130, 250))
        XCTAssertEqual(augment(constant, .none, size: 224, seed: 4), RGBImage(width: 224, height: 224, filledWith: (12, 130, 250)))
        // At its own size the resize is exact.
        XCTAssertEqual(augment(image, .none, size: 300, seed: 5).pixels.count, 300 * 300 * 3)
        let square = randomImage(width: 50, height: 50, seed: 6)
        XCTAssertEqual(augment(square, .none, size: 50, seed: 7), square)
    }

    func testConfigIdentityValidationAndCoding() throws {
        XCTAssertTrue(AugmentationConfig.none.isIdentity)
        XCTAssertTrue(AugmentationConfig(scale: 1...1, colorJitter: ColorJitter(), cutout: Cutout(holes: 0, size: 0.3)).isIdentity)
        XCTAssertFalse(AugmentationConfig.dermoscopy.isIdentity)
        XCTAssertFalse(AugmentationConfig(transpose: true).isIdentity)
        XCTAssertNoThrow(try AugmentationConfig.dermoscopy.validate())

        let decoded = try JSONDecoder().decode(AugmentationConfig.self, from: JSONEncoder().encode(AugmentationConfig.dermoscopy))
        XCTAssertEqual(decoded, .dermoscopy)

        XCTAssertThrowsError(try AugmentationConfig(colorJitter: ColorJitter(hue: 0.6)).validate()) { error in
            XCTAssertEqual((error as? AugmentationConfig.InvalidValue)?.field, "colorJitter.hue")
        }
        XCTAssertThrowsError(try AugmentationConfig(scale: 0...1).validate())
        XCTAssertThrowsError(try AugmentationConfig(rotationDegrees: .nan).validate())
        XCTAssertThrowsError(try AugmentationConfig(randomResizedCrop: RandomResizedCrop(scale: 0.5...1.5)).validate())
    }

    // MARK: - Dihedral group

    func testDihedralViewsAreEightDistinctExactPermutations() {
        // Each pixel holds its own coordinates, so a view tells where every pixel came from.
        for (width, height) in [(6, 6), (5, 3)] {
            var image = RGBImage(width: width, height: height)
            for y in 0..<height { for x in 0..<width { let k = (y * width + x) * 3; (image.pixels[k], image.pixels[k + 1], image.pixels[k + 2]) = (UInt8(x), UInt8(y), 77) } }
            let views = Augmenter.dihedralViews(image)
            XCTAssertEqual(views.count, 8)
            XCTAssertEqual(Set(views.map(\.pixels)).count, 8, "views must be distinct")
            for (index, view) in views.enumerated() {
                XCTAssertEqual(view.width * view.height, width * height)
                XCTAssertEqual(pixelSet(view), pixelSet(image), "view \(index) must be a permutation")
            }
            // Known corners: rotating 90° clockwise brings the bottom-left pixel to the top-left.
            XCTAssertTrue(views[1][0, 0] == image[0, height - 1])
            XCTAssertTrue(views[2][0, 0] == image[width - 1, height - 1])
            XCTAssertTrue(views[3][0, 0] == image[width - 1, 0])
            XCTAssertTrue(views[6][1, 0] == image[0, 1])
            XCTAssertTrue(views[7][0, 0] == image[width - 1, height - 1])
            XCTAssertTrue(views[7][1, 0] == image[width - 1, height - 2])

            func view(_ index: Int, of image: RGBImage) -> RGBImage { Augmenter.dihedralViews(image)[index] }
            for involution in [2, 4, 5, 6, 7] {
                XCTAssertEqual(view(involution, of: views[involution]), image, "view \(involution) twice")
            }
            XCTAssertEqual(view(3, of: views[1]), image, "90° then 270°")
            XCTAssertEqual(view(1, of: views[1]), views[2], "90° twice is 180°")
        }
    }

    func testFlipsAloneGiveEachDihedralView() {
        let image = randomImage(width: 9, height: 9, seed: 9)
        let views = Augmenter.dihedralViews(image)
        let config = AugmentationConfig(horizontalFlip: true, verticalFlip: true, transpose: true)
        var seen = Set<Int>()
        for seed in 0..<200 {
            let output = augment(image, config, size: 9, seed: UInt64(seed))
            guard let index = views.firstIndex(of: output) else { return XCTFail("seed \(seed): not a dihedral view") }
            seen.insert(index)
        }
        XCTAssertEqual(seen, Set(0..<8))
    }

    // MARK: - Geometry

    func testRotationAndZoomOutUseReflectionNotBlack() {
        let image = randomImage(width: 48, height: 36, seed: 10, range: 40...255)
        let config = AugmentationConfig(rotationDegrees: 180, scale: 0.7...0.8, shift: 0.2)
        for seed in 0..<20 {
            let output = augment(image, config, size: 40, seed: UInt64(seed))
            // Bilinear weights are convex, so anything below the image's minimum came from padding.
            XCTAssertGreaterThanOrEqual(output.pixels.min()!, 40, "seed \(seed)")
        }
    }

    func testReflectionFoldsAboutTheEdges() {
        XCTAssertEqual(AffineWarp.reflect(2.5, length: 5), 2.5)
        XCTAssertEqual(AffineWarp.reflect(-1, length: 5), 0)
        XCTAssertEqual(AffineWarp.reflect(-2, length: 5), 1)
        XCTAssertEqual(AffineWarp.reflect(5, length: 5), 4)
        XCTAssertEqual(AffineWarp.reflect(6, length: 5), 3)
        XCTAssertEqual(AffineWarp.reflect(11, length: 5), 1)   // one full period (10) later
        XCTAssertEqual(AffineWarp.reflect(-0.25, length: 5), 0)
    }

    func testRandomResizedCropSometimesShowsOneQuadrant() {
        let image = quadrantImage(side: 64)
        let config = AugmentationConfig(randomResizedCrop: RandomResizedCrop(scale: 0.02...0.2))
        var singleQuadrant = 0, severalQuadrants = 0
        for seed in 0..<50 {
            let output = augment(image, config, size: 32, seed: UInt64(seed))
            XCTAssertEqual(output.width, 32)
            XCTAssertEqual(output.height, 32)
            let colours = pixelSet(output)
            if colours.count == 1 {
                singleQuadrant += 1
                XCTAssertTrue(Self.quadrantColours.contains { [$0.0, $0.1, $0.2] == colours.first! })
            } else {
                severalQuadrants += 1
            }
        }
        XCTAssertGreaterThan(singleQuadrant, 0)
        XCTAssertGreaterThan(severalQuadrants, 0)
        // The whole-area crop of a square at the ratio 1 sees all four quadrants.
        let whole = augment(image, AugmentationConfig(randomResizedCrop: RandomResizedCrop(scale: 1...1, ratio: 1...1)), size: 64, seed: 1)
        XCTAssertEqual(whole, image)
    }

    // MARK: - Colour

    func testZeroStrengthColourJitterIsIdentity() {
        let image = randomImage(width: 20, height: 20, seed: 11)
        XCTAssertEqual(augment(image, AugmentationConfig(colorJitter: ColorJitter()), size: 20, seed: 12), image)
        var copy = image, rng = SeededGenerator(seed: 13)
        ColorJitter().apply(to: &copy, rng: &rng)
        XCTAssertEqual(copy, image)
        var values = image.pixels.map(Float.init)
        ColorJitter.adjustBrightness(&values, factor: 1)
        ColorJitter.adjustContrast(&values, factor: 1)
        ColorJitter.adjustSaturation(&values, factor: 1)
        ColorJitter.adjustHue(&values, shift: 0)
        XCTAssertLessThan(zip(values, image.pixels).map { abs($0 - Float($1)) }.max()!, 1e-3)
    }

    func testBrightnessScalesAConstantImageAndClamps() {
        for (factor, expected) in [(Float(1.5), Float(150)), (0.5, 50), (3, 255), (0, 0)] {
            var values = [Float](repeating: 100, count: 12)
            ColorJitter.adjustBrightness(&values, factor: factor)
            XCTAssertEqual(values, [Float](repeating: expected, count: 12), "factor \(factor)")
        }
        // Through the augmenter: a constant image stays constant, at a level within the factor range.
        let image = RGBImage(width: 8, height: 8, filledWith: (100, 100, 100))
        var levels = Set<UInt8>()
        for seed in 0..<20 {
            let output = augment(image, AugmentationConfig(colorJitter: ColorJitter(brightness: 0.5)), size: 8, seed: UInt64(seed))
            XCTAssertEqual(Set(output.pixels).count, 1)
            XCTAssertTrue((50...150).contains(output.pixels[0]))
            levels.insert(output.pixels[0])
        }
        XCTAssertGreaterThan(levels.count, 5)
    }

    func testHueShiftKeepsGreysGreyAndRotatesColours() {
        var values: [Float] = [128, 128, 128, 0, 0, 0, 255, 255, 255, 255, 0, 0, 40, 160, 90]
        ColorJitter.adjustHue(&values, shift: 1.0 / 3.0)
        XCTAssertEqual(Array(values[0..<9]), [128, 128, 128, 0, 0, 0, 255, 255, 255])
        // A third of the circle takes red to green.
        XCTAssertEqual(values[9], 0, accuracy: 0.01)
        XCTAssertEqual(values[10], 255, accuracy: 0.01)
        XCTAssertEqual(values[11], 0, accuracy: 0.01)
        // HSV keeps the maximum and minimum channel values.
        XCTAssertEqual(values[12...14].max()!, 160, accuracy: 0.01)
        XCTAssertEqual(values[12...14].min()!, 40, accuracy: 0.01)
        XCTAssertNotEqual(Array(values[12...14]), [40, 160, 90])
        // A whole turn is no change.
        var turn: [Float] = [40, 160, 90]
        ColorJitter.adjustHue(&turn, shift: 0.5)
        ColorJitter.adjustHue(&turn, shift: 0.5)
        XCTAssertEqual(turn[0], 40, accuracy: 0.01)
        XCTAssertEqual(turn[1], 160, accuracy: 0.01)
        XCTAssertEqual(turn[2], 90, accuracy: 0.01)

        var greys = RGBImage(width: 4, height: 1, pixels: [0, 0, 0, 77, 77, 77, 200, 200, 200, 255, 255, 255])
        let original = greys
        var rng = SeededGenerator(seed: 14)
        ColorJitter(hue: 0.5).apply(to: &greys, rng: &rng)
        XCTAssertEqual(greys, original)
    }

    func testSaturationAndContrastAtZeroGiveGrey() {
        let image = randomImage(width: 10, height: 10, seed: 15)
        var values = image.pixels.map(Float.init)
        ColorJitter.adjustSaturation(&values, factor: 0)
        for k in stride(from: 0, to: values.count, by: 3) {
            let expected = ColorJitter.gray(Float(image.pixels[k]), Float(image.pixels[k + 1]), Float(image.pixels[k + 2]))
            XCTAssertEqual(values[k], expected, accuracy: 1e-3)
            XCTAssertEqual(values[k + 1], expected, accuracy: 1e-3)
            XCTAssertEqual(values[k + 2], expected, accuracy: 1e-3)
        }
        var flat = image.pixels.map(Float.init)
        ColorJitter.adjustContrast(&flat, factor: 0)
        let mean = stride(from: 0, to: flat.count, by: 3).map {
            ColorJitter.gray(Float(image.pixels[$0]), Float(image.pixels[$0 + 1]), Float(image.pixels[$0 + 2]))
        }.reduce(0, +) / 100
        XCTAssertLessThan(flat.map { abs($0 - mean) }.max()!, 1e-2)
    }

    func testOutputsStayInRangeUnderStrongJitter() {
        // Factors past 1 would wrap around without the clamp (200 × 2 = 400 ≡ 144).
        var values: [Float] = [200, 10, 250]
        ColorJitter.adjustBrightness(&values, factor: 2)
        XCTAssertEqual(values, [255, 20, 255])
        ColorJitter.adjustContrast(&values, factor: 3)
        XCTAssertTrue(values.allSatisfy { (0...255).contains($0) })
        ColorJitter.adjustSaturation(&values, factor: 4)
        XCTAssertTrue(values.allSatisfy { (0...255).contains($0) })

        let image = quadrantImage(side: 16)
        let strong = AugmentationConfig(rotationDegrees: 30,
                                        colorJitter: ColorJitter(brightness: 0.9, contrast: 0.9, saturation: 2, hue: 0.5))
        var saturatedSomewhere = false
        for seed in 0..<50 {
            let output = augment(image, strong, size: 16, seed: UInt64(seed))
            XCTAssertEqual(output.pixels.count, 16 * 16 * 3)
            saturatedSomewhere = saturatedSomewhere || output.pixels.contains(255)
        }
        XCTAssertTrue(saturatedSomewhere)
    }

    // MARK: - Cutout

    func testCutoutFillsTheExpectedAreaWithTheMeanColour() {
        let image = randomImage(width: 64, height: 64, seed: 16)
        let (r, g, b) = Cutout.meanColour(image)
        let fill: [UInt8] = [r, g, b]
        var total = 0
        for seed in 0..<20 {
            let output = augment(image, AugmentationConfig(cutout: Cutout(holes: 1, size: 0.25)), size: 64, seed: UInt64(seed))
            var changed = [(Int, Int)]()
            for y in 0..<64 {
                for x in 0..<64 where !(output[x, y] == image[x, y]) { changed.append((x, y)) }
            }
            let fills = Set(changed.map { Array(output.pixels[($0.1 * 64 + $0.0) * 3..<($0.1 * 64 + $0.0) * 3 + 3]) })
            XCTAssertEqual(fills, [fill], "seed \(seed): holes must hold the mean colour")
            // One 16×16 hole: every changed pixel lies in one 16×16 box.
            XCTAssertLessThanOrEqual(changed.count, 256)
            XCTAssertLessThan(changed.map(\.0).max()! - changed.map(\.0).min()!, 16)
            XCTAssertLessThan(changed.map(\.1).max()! - changed.map(\.1).min()!, 16)
            total += changed.count
        }
        // A random pixel equals the fill colour with probability 2⁻²⁴, so nearly all 256 change.
        XCTAssertEqual(Double(total) / (20 * 64 * 64), 0.0625, accuracy: 0.001)

        let holes = augment(image, AugmentationConfig(cutout: Cutout(holes: 3, size: 0.25)), size: 64, seed: 17)
        let filled = stride(from: 0, to: holes.pixels.count, by: 3).filter { Array(holes.pixels[$0..<$0 + 3]) == fill }.count
        XCTAssertTrue((256...768).contains(filled), "\(filled) pixels")
    }

    // MARK: - Speed

    func testTiming() {
        let image = randomImage(width: 300, height: 225, seed: 18)
        let geometry = AugmentationConfig(horizontalFlip: true, verticalFlip: true, transpose: true,
                                          rotationDegrees: 180, scale: 0.8...1.2, shift: 0.1,
                                          randomResizedCrop: RandomResizedCrop(scale: 0.6...1))
        for (name, config) in [("none", AugmentationConfig.none), ("geometry", geometry), ("dermoscopy", .dermoscopy)] {
            let augmenter = Augmenter(config)
            var rng = SeededGenerator(seed: 19)
            var checksum = 0
            #if DEBUG
            let runs = 5   // unoptimised numeric Swift is 10–100× slower; the figure that counts is release
            #else
            let runs = 200
            #endif
            let clock = ContinuousClock()
            let elapsed = clock.measure {
                for _ in 0..<runs { checksum &+= Int(augmenter.apply(image, size: 224, rng: &rng).pixels[1000]) }
            }
            let ms = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3
            print(String(format: "Augmenter.apply 300×225 → 224, %@: %.3f ms per image (checksum %d)", name, ms / Double(runs), checksum))
        }
    }
}
