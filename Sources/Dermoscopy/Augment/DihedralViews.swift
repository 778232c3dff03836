extension Augmenter {
    /// The 8 dihedral views of `image`, exact pixel permutations for test-time augmentation, in
    /// this order: identity, rotations by 90°, 180° and 270° clockwise, horizontal flip, vertical
    /// flip, transpose (mirror about the main diagonal) and anti-transpose (about the other).
    /// Views that swap the axes are `height`×`width`, so a non-square image works too.
    public static func dihedralViews(_ image: RGBImage) -> [RGBImage] {
        // Each view is: optionally transpose, then optionally mirror left–right, then top–bottom.
        let views: [(transpose: Bool, flipX: Bool, flipY: Bool)] = [
            (false, false, false), (true, true, false), (false, true, true), (true, false, true),
            (false, true, false), (false, false, true), (true, false, false), (true, true, true),
        ]
        return views.map { dihedralView(image, transpose: $0.transpose, flipX: $0.flipX, flipY: $0.flipY) }
    }

    static func dihedralView(_ image: RGBImage, transpose: Bool, flipX: Bool, flipY: Bool) -> RGBImage {
        let width = transpose ? image.height : image.width, height = transpose ? image.width : image.height
        var pixels = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                var o = 0
                for y in 0..<height {
                    for x in 0..<width {
                        // Undo the steps in reverse: mirrors first, then the transpose.
                        let u = flipX ? width - 1 - x : x, v = flipY ? height - 1 - y : y
                        let (sx, sy) = transpose ? (v, u) : (u, v)
                        let s = (sy * image.width + sx) * 3
                        (dst[o], dst[o + 1], dst[o + 2]) = (src[s], src[s + 1], src[s + 2])
                        o += 3
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
