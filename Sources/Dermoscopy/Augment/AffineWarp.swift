/// Resamples an image through one affine map, so that crop, flips, rotation, zoom and shift
/// cost one interpolation (one blur) instead of one each, and never leave black corners.
enum AffineWarp {
    /// The `size`×`size` image whose pixel (j, i) is `image` sampled bilinearly at
    /// `sourceFromOutput(j, i)`, in pixel-centre coordinates (pixel (0, 0) is centred at (0, 0)).
    /// Points outside the image are mirrored back in about its edges, like PyTorch's
    /// `grid_sample(padding_mode: "reflection", align_corners: false)`, so a rotated or shrunk
    /// view is framed by more skin rather than by black corners the network could learn from.
    /// Bilinear sampling has no anti-aliasing prefilter, so the source should be decoded near the
    /// output resolution (`ImagePipeline.sourceSize` does), not shrunk many times over here.
    static func sample(_ image: RGBImage, size: Int, sourceFromOutput map: AffineMap) -> RGBImage {
        precondition(size > 0, "AffineWarp needs a positive output size, got \(size)")
        let width = image.width, height = image.height
        let a = Float(map.a), c = Float(map.c)
        let count = size * size * 3
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            image.pixels.withUnsafeBufferPointer { src in
                var o = 0
                for i in 0..<size {
                    let rowX = Float(map.b * Double(i) + map.tx), rowY = Float(map.d * Double(i) + map.ty)
                    for j in 0..<size {
                        let fj = Float(j)
                        let x = reflect(rowX + a * fj, length: width)
                        let y = reflect(rowY + c * fj, length: height)
                        // x, y ≥ 0, so truncation is floor.
                        let x0 = Int(x), y0 = Int(y)
                        let fx = x - Float(x0), fy = y - Float(y0)
                        let dx = x0 + 1 < width ? 3 : 0, dy = y0 + 1 < height ? width * 3 : 0
                        let p = (y0 * width + x0) * 3
                        let w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy
                        for ch in 0..<3 {
                            let q = p + ch
                            let v = w00 * Float(src[q]) + w01 * Float(src[q + dx])
                                + w10 * Float(src[q + dy]) + w11 * Float(src[q + dx + dy])
                            out[o + ch] = UInt8(min(v + 0.5, 255))
                        }
                        o += 3
                    }
                }
            }
            initialized = count
        }
        return RGBImage(width: size, height: size, pixels: pixels)
    }

    /// Folds a pixel-centre coordinate into [0, length − 1] by mirroring about the image edges
    /// (at −½ and length − ½), then clamping the last half pixel as `grid_sample` does.
    @inline(__always)
    static func reflect(_ x: Float, length: Int) -> Float {
        let last = Float(length - 1)
        if x >= 0 && x <= last { return x }
        let n = Float(length), period = 2 * n
        var u = (x + 0.5).truncatingRemainder(dividingBy: period)
        if u < 0 { u += period }
        if u > n { u = period - u }
        return min(max(u - 0.5, 0), last)
    }
}
