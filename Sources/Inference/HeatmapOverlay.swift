import Dermoscopy

/// Paints a Grad-CAM map over the image it explains.
public enum HeatmapOverlay {
    /// The part of an image a map covers, in the image's pixels.
    public struct Region: Sendable, Equatable {
        public let x: Int, y: Int, width: Int, height: Int

        /// The centred square of the shorter side: what the evaluation view (shorter side
        /// resized, centre crop) keeps of an image.
        public static func centreSquare(of image: RGBImage) -> Region {
            let side = min(image.width, image.height)
            return Region(x: (image.width - side) / 2, y: (image.height - side) / 2, width: side, height: side)
        }
    }

    /// Bilinearly upsamples `map` (`width × height`, values in [0, 1]) onto `region` of the image
    /// (all of it by default) with pixel centres aligned (as PyTorch's `align_corners=False`),
    /// colours it with Turbo and mixes it in: `opacity` 0 returns the image, 1 the colormap
    /// alone. Pixels outside the region, which the network never saw, are dimmed to half.
    public static func blend(image: RGBImage, map: [Float], width: Int, height: Int, region: Region? = nil,
                             opacity: Float = 0.45) -> RGBImage {
        precondition(width > 0 && height > 0 && map.count == width * height,
                     "a \(width)×\(height) map needs \(width * height) values, got \(map.count)")
        let area = region ?? Region(x: 0, y: 0, width: image.width, height: image.height)
        var out = image
        for y in 0..<image.height {
            let (y0, y1, fy) = sample(y - area.y, from: area.height, to: height)
            for x in 0..<image.width {
                guard area.y..<(area.y + area.height) ~= y, area.x..<(area.x + area.width) ~= x else {
                    let i = (y * image.width + x) * 3
                    for c in 0..<3 { out.pixels[i + c] = image.pixels[i + c] / 2 }
                    continue
                }
                let (x0, x1, fx) = sample(x - area.x, from: area.width, to: width)
                let top = map[y0 * width + x0] * (1 - fx) + map[y0 * width + x1] * fx
                let bottom = map[y1 * width + x0] * (1 - fx) + map[y1 * width + x1] * fx
                let colour = turbo(top * (1 - fy) + bottom * fy)
                let i = (y * image.width + x) * 3
                for c in 0..<3 {
                    let mixed = (1 - opacity) * Float(image.pixels[i + c]) + opacity * colour[c] * 255
                    out.pixels[i + c] = UInt8(min(max(mixed.rounded(), 0), 255))
                }
            }
        }
        return out
    }

    /// The two source cells around output pixel `i` and the weight of the second.
    private static func sample(_ i: Int, from outSize: Int, to inSize: Int) -> (Int, Int, Float) {
        let position = min(max((Float(i) + 0.5) * Float(inSize) / Float(outSize) - 0.5, 0), Float(inSize - 1))
        let low = Int(position)
        return (low, min(low + 1, inSize - 1), position - Float(low))
    }

    /// Google's Turbo colormap (perceptually ordered, unlike jet) in Mikhailov's degree-5
    /// polynomial fit, so no 256-entry table is needed.
    static func turbo(_ value: Float) -> [Float] {
        let t = min(max(value, 0), 1)
        func poly(_ c: [Float]) -> Float { min(max(c.reversed().reduce(0) { $0 * t + $1 }, 0), 1) }
        return [poly([0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943]),
                poly([0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604]),
                poly([0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973])]
    }
}
