import NeuralNet

/// torchvision's `ColorJitter`: brightness, contrast and saturation factors drawn uniformly from
/// [max(0, 1 − x), 1 + x], a hue shift from ±`hue` (a fraction of the colour circle), applied in
/// a random order, clamping to [0, 255] after each step as torchvision does. Models fine-tuned
/// from torchvision weights were tuned with exactly these semantics, so the strengths carry over.
public struct ColorJitter: Codable, Sendable, Equatable {
    public var brightness: Float
    public var contrast: Float
    public var saturation: Float
    /// At most 0.5: half the circle reaches every hue.
    public var hue: Float

    public init(brightness: Float = 0, contrast: Float = 0, saturation: Float = 0, hue: Float = 0) {
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
    }

    var isIdentity: Bool { brightness == 0 && contrast == 0 && saturation == 0 && hue == 0 }

    func apply(to image: inout RGBImage, rng: inout SeededGenerator) {
        // torchvision draws a permutation of all four and skips the ones that are off.
        var order = [0, 1, 2, 3]
        for i in stride(from: 3, to: 0, by: -1) { order.swapAt(i, rng.index(below: i + 1)) }
        var values = image.pixels.map(Float.init)
        for step in order {
            switch step {
            case 0 where brightness > 0: Self.adjustBrightness(&values, factor: Self.factor(brightness, &rng))
            case 1 where contrast > 0: Self.adjustContrast(&values, factor: Self.factor(contrast, &rng))
            case 2 where saturation > 0: Self.adjustSaturation(&values, factor: Self.factor(saturation, &rng))
            case 3 where hue > 0: Self.adjustHue(&values, shift: rng.symmetric(hue))
            default: break
            }
        }
        image.pixels = values.map { UInt8($0 + 0.5) }
    }

    private static func factor(_ strength: Float, _ rng: inout SeededGenerator) -> Float {
        rng.uniform(max(0, 1 - strength)...(1 + strength))
    }

    /// Scales every channel: a blend with black.
    static func adjustBrightness(_ values: inout [Float], factor: Float) {
        values.withUnsafeMutableBufferPointer { v in
            for k in v.indices { v[k] = clamp(v[k] * factor) }
        }
    }

    /// Blends with the mean grey level of the whole image, so factor 0 gives a flat grey.
    static func adjustContrast(_ values: inout [Float], factor: Float) {
        values.withUnsafeMutableBufferPointer { v in
            var sum: Double = 0   // a Float sum of 50 000 pixels would lose the last few bits
            for k in stride(from: 0, to: v.count, by: 3) { sum += Double(gray(v[k], v[k + 1], v[k + 2])) }
            let offset = (1 - factor) * Float(sum / Double(v.count / 3))
            for k in v.indices { v[k] = clamp(factor * v[k] + offset) }
        }
    }

    /// Blends each pixel with its own grey level, so factor 0 gives the grayscale image.
    static func adjustSaturation(_ values: inout [Float], factor: Float) {
        values.withUnsafeMutableBufferPointer { v in
            for k in stride(from: 0, to: v.count, by: 3) {
                let offset = (1 - factor) * gray(v[k], v[k + 1], v[k + 2])
                for ch in k..<k + 3 { v[ch] = clamp(factor * v[ch] + offset) }
            }
        }
    }

    /// Rotates the hue by `shift` turns: torchvision's RGB → HSV → RGB round trip, done in place.
    /// Value (the maximum) and the minimum stay and the middle channel moves, so greys, which
    /// have no hue, stay exactly grey.
    static func adjustHue(_ values: inout [Float], shift: Float) {
        // Hue is measured in sixths of the circle; the shift, taken into [0, 6) once here, keeps
        // the per-pixel wrap-around to two comparisons instead of a call to fmod.
        let offset = 6 * (shift - shift.rounded(.down))
        values.withUnsafeMutableBufferPointer { v in
            for k in stride(from: 0, to: v.count, by: 3) {
                let (r, g, b) = (v[k], v[k + 1], v[k + 2])
                let maxc = max(r, g, b), minc = min(r, g, b), delta = maxc - minc
                guard delta > 0 else { continue }
                // In [−1, 5] before the shift, so in [−1, 11) after.
                var h = offset + (maxc == r ? (g - b) / delta : maxc == g ? 2 + (b - r) / delta : 4 + (r - g) / delta)
                if h >= 6 { h -= 6 } else if h < 0 { h += 6 }
                let sector = min(Int(h), 5), f = h - Float(sector)
                let falling = maxc - delta * f, rising = minc + delta * f
                switch sector {
                case 0: (v[k], v[k + 1], v[k + 2]) = (maxc, rising, minc)
                case 1: (v[k], v[k + 1], v[k + 2]) = (falling, maxc, minc)
                case 2: (v[k], v[k + 1], v[k + 2]) = (minc, maxc, rising)
                case 3: (v[k], v[k + 1], v[k + 2]) = (minc, falling, maxc)
                case 4: (v[k], v[k + 1], v[k + 2]) = (rising, minc, maxc)
                default: (v[k], v[k + 1], v[k + 2]) = (maxc, minc, falling)
                }
            }
        }
    }

    /// ITU-R 601 luma, torchvision's `rgb_to_grayscale`.
    @inline(__always)
    static func gray(_ r: Float, _ g: Float, _ b: Float) -> Float { 0.299 * r + 0.587 * g + 0.114 * b }

    @inline(__always)
    private static func clamp(_ x: Float) -> Float { min(max(x, 0), 255) }
}
