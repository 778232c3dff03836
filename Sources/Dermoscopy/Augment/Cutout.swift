import NeuralNet

/// DeVries & Taylor's cutout: square holes that make the network use more than one region of
/// the lesion. Each hole lies wholly inside the image (as torchvision's `RandomErasing` places
/// its box), so it always hides the configured area, and is filled with the image's mean colour
/// rather than black, so it adds no colour the normalised input would not otherwise contain.
public struct Cutout: Codable, Sendable, Equatable {
    /// Number of holes; they may overlap.
    public var holes: Int
    /// Side of each hole as a fraction of the image side.
    public var size: Float

    public init(holes: Int = 1, size: Float) {
        self.holes = holes
        self.size = size
    }

    var isIdentity: Bool { holes == 0 || size == 0 }

    func apply(to image: inout RGBImage, rng: inout SeededGenerator) {
        let width = image.width, height = image.height
        let holeWidth = Int((size * Float(width)).rounded()), holeHeight = Int((size * Float(height)).rounded())
        guard holeWidth > 0 && holeHeight > 0 else { return }
        let fill = Self.meanColour(image)
        image.pixels.withUnsafeMutableBufferPointer { p in
            for _ in 0..<holes {
                let x = rng.index(below: width - holeWidth + 1), y = rng.index(below: height - holeHeight + 1)
                for row in y..<y + holeHeight {
                    var k = (row * width + x) * 3
                    for _ in 0..<holeWidth {
                        (p[k], p[k + 1], p[k + 2]) = fill
                        k += 3
                    }
                }
            }
        }
    }

    /// Per-channel mean, rounded.
    static func meanColour(_ image: RGBImage) -> (UInt8, UInt8, UInt8) {
        var sums = (0, 0, 0)
        image.pixels.withUnsafeBufferPointer { p in
            for k in stride(from: 0, to: p.count, by: 3) {
                sums.0 += Int(p[k]); sums.1 += Int(p[k + 1]); sums.2 += Int(p[k + 2])
            }
        }
        let n = image.width * image.height
        return (UInt8((sums.0 + n / 2) / n), UInt8((sums.1 + n / 2) / n), UInt8((sums.2 + n / 2) / n))
    }
}
