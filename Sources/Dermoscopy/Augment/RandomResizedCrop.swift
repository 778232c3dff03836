import Foundation
import NeuralNet

/// torchvision's `RandomResizedCrop` choice of region: a random part of the image, covering an
/// area fraction drawn from `scale` with an aspect ratio drawn log-uniformly from `ratio`, which
/// the warp then stretches to the square output.
public struct RandomResizedCrop: Codable, Sendable, Equatable {
    /// Fraction of the source area the crop covers (torchvision's default 0.08…1).
    public var scale: ClosedRange<Float>
    /// Width / height of the crop (torchvision's default 3/4…4/3).
    public var ratio: ClosedRange<Float>

    public init(scale: ClosedRange<Float> = 0.08...1, ratio: ClosedRange<Float> = 0.75...(4.0 / 3.0)) {
        self.scale = scale
        self.ratio = ratio
    }

    /// torchvision's algorithm: up to 10 tries for a crop that fits, else the largest centred crop
    /// whose ratio is within range. Coordinates stay fractional (torchvision rounds to whole pixels)
    /// because the warp samples between pixels anyway.
    func region(width: Int, height: Int, rng: inout SeededGenerator) -> CropRegion {
        let w = Double(width), h = Double(height), area = w * h
        let logRatio = Float(log(Double(ratio.lowerBound)))...Float(log(Double(ratio.upperBound)))
        for _ in 0..<10 {
            let target = area * Double(rng.uniform(scale))
            let aspect = exp(Double(rng.uniform(logRatio)))
            let cw = (target * aspect).squareRoot(), ch = (target / aspect).squareRoot()
            if cw <= w && ch <= h {
                return CropRegion(x: Double(rng.uniform(0...Float(w - cw))),
                                  y: Double(rng.uniform(0...Float(h - ch))), width: cw, height: ch)
            }
        }
        let inRatio = w / h
        let cw = inRatio < Double(ratio.lowerBound) ? w : min(w, h * Double(ratio.upperBound))
        let ch = inRatio < Double(ratio.lowerBound) ? w / Double(ratio.lowerBound) : h
        return CropRegion(x: (w - cw) / 2, y: (h - ch) / 2, width: cw, height: ch)
    }
}

/// A rectangle of the source image in pixel-edge coordinates: (0, 0) is the top-left corner of
/// the top-left pixel and (width, height) of the whole image is the bottom-right corner.
struct CropRegion: Equatable {
    var x, y, width, height: Double

    static func whole(_ image: RGBImage) -> CropRegion {
        CropRegion(x: 0, y: 0, width: Double(image.width), height: Double(image.height))
    }
}
