import NeuralNet

/// Turns one decoded image into one random training view, reproducibly from a seeded generator.
public struct Augmenter: Sendable {
    public let config: AugmentationConfig

    /// Traps on a config that `validate()` rejects: callers that read configs from files
    /// validate first and report the field; a bad config reaching here is a programming error.
    public init(_ config: AugmentationConfig) {
        do { try config.validate() } catch { preconditionFailure("\(error)") }
        self.config = config
    }

    /// Produces a `size`×`size` training view of `image`. All randomness comes from `rng`, so a
    /// given seed gives the same output. The geometric operations (random resized crop or the
    /// whole image, flips/transpose, rotation, zoom, shift) are composed into one affine map and
    /// sampled once, bilinearly with reflection padding; then colour jitter, then cutout. With
    /// `.none` it is a plain bilinear resize of the whole image to `size`×`size`.
    public func apply(_ image: RGBImage, size: Int, rng: inout SeededGenerator) -> RGBImage {
        let crop = config.randomResizedCrop?.region(width: image.width, height: image.height, rng: &rng)
            ?? .whole(image)
        var view = AffineWarp.sample(image, size: size,
                                     sourceFromOutput: sourceFromOutput(crop: crop, size: size, rng: &rng))
        if let jitter = config.colorJitter, !jitter.isIdentity { jitter.apply(to: &view, rng: &rng) }
        if let cutout = config.cutout, !cutout.isIdentity { cutout.apply(to: &view, rng: &rng) }
        return view
    }

    /// The map from output pixel to source pixel. Forward, a point p of the crop, in coordinates
    /// where the crop is [−1, 1]², goes to the output point s·R(θ)·D·p + t (D: transpose, then the
    /// flips); this is its inverse, drawn in that forward order and composed in reverse.
    func sourceFromOutput(crop: CropRegion, size: Int, rng: inout SeededGenerator) -> AffineMap {
        let transpose = config.transpose && rng.coin()
        let flipX = config.horizontalFlip && rng.coin()
        let flipY = config.verticalFlip && rng.coin()
        let angle = config.rotationDegrees > 0 ? Double(rng.symmetric(config.rotationDegrees)) * .pi / 180 : 0
        let zoom = config.scale.map { Double(rng.uniform($0)) } ?? 1
        let (shiftX, shiftY) = config.shift > 0
            ? (2 * Double(rng.symmetric(config.shift)), 2 * Double(rng.symmetric(config.shift))) : (0, 0)

        let n = Double(size)
        return AffineMap.scaling(2 / n, 2 / n).then(.translation(1 / n - 1, 1 / n - 1))  // pixel centre → [−1, 1]²
            .then(.translation(-shiftX, -shiftY))
            .then(.scaling(1 / zoom, 1 / zoom))
            .then(.rotation(radians: -angle))
            .then(.dihedral(flipX: flipX, flipY: flipY, swap: transpose))
            .then(.scaling(crop.width / 2, crop.height / 2))                              // [−1, 1]² → crop
            .then(.translation(crop.x + crop.width / 2 - 0.5, crop.y + crop.height / 2 - 0.5))
    }
}
