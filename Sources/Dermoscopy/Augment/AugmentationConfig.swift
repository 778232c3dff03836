/// What the training pipeline may do to an image before it reaches the network. Every field has an
/// "off" value, so `none` is simply the all-off config and a run file lists exactly what was used.
public struct AugmentationConfig: Codable, Sendable, Equatable {
    /// Mirror left–right with probability ½. Together with `verticalFlip` and `transpose` this
    /// draws uniformly from the 8 dihedral views (`Augmenter.dihedralViews`).
    public var horizontalFlip: Bool
    /// Mirror top–bottom with probability ½.
    public var verticalFlip: Bool
    /// Swap the axes with probability ½, which with the two flips adds the 90° rotations.
    public var transpose: Bool
    /// Rotation angle, uniform in ±`rotationDegrees`; 0 turns it off.
    public var rotationDegrees: Float
    /// Zoom factor drawn uniformly from this range (above 1 zooms in); nil turns it off.
    public var scale: ClosedRange<Float>?
    /// Largest translation along each axis, as a fraction of the output side; 0 turns it off.
    public var shift: Float
    /// Which part of the source image the view starts from; nil means the whole image.
    public var randomResizedCrop: RandomResizedCrop?
    /// Brightness, contrast, saturation and hue changes after the geometry; nil turns it off.
    public var colorJitter: ColorJitter?
    /// Square holes filled with the mean colour, last of all; nil turns it off.
    public var cutout: Cutout?

    public init(horizontalFlip: Bool = false, verticalFlip: Bool = false, transpose: Bool = false,
                rotationDegrees: Float = 0, scale: ClosedRange<Float>? = nil, shift: Float = 0,
                randomResizedCrop: RandomResizedCrop? = nil, colorJitter: ColorJitter? = nil,
                cutout: Cutout? = nil) {
        self.horizontalFlip = horizontalFlip
        self.verticalFlip = verticalFlip
        self.transpose = transpose
        self.rotationDegrees = rotationDegrees
        self.scale = scale
        self.shift = shift
        self.randomResizedCrop = randomResizedCrop
        self.colorJitter = colorJitter
        self.cutout = cutout
    }

    /// No augmentation: `Augmenter.apply` becomes a plain resize, as validation and test need.
    public static let none = AugmentationConfig()

    /// The preset for dermoscopy. A lesion seen through a dermatoscope has no up, down or
    /// handedness, so every orientation is as likely as any other; what varies between clinics is
    /// framing, zoom and colour (camera, illumination, immersion fluid). The values follow the
    /// ISIC challenge literature:
    /// - all three flips, as the SIIM-ISIC 2020 winners (Ha, Liu & Liu 2020: `Transpose`,
    ///   `VerticalFlip`, `HorizontalFlip`, each p = 0.5) used, giving the 8 dihedral views;
    /// - rotation ±180°, the full circle, as the ISIC 2019 winners (Gessert et al. 2020,
    ///   `full_rot = 180`) used. With the flips, ±45° would already give the same distribution of
    ///   orientations, but ±180° keeps rotation invariance when someone turns the flips off, and
    ///   costs nothing since the warp is one pass whatever the angle;
    /// - zoom 0.8…1.2, as both Gessert et al. (`scale = (0.8, 1.2)`) and Perez et al. 2018
    ///   ("Data Augmentation for Skin Lesion Analysis", the best "basic set") used;
    /// - shift 0.1, as Ha et al.'s `ShiftScaleRotate(shift_limit=0.1)`;
    /// - random resized crop over 60–100 % of the area. Perez et al. went down to 40 %, but
    ///   border features (the lesion's edge against normal skin) matter for diagnosis and smaller
    ///   crops cut them off more often; the zoom above already adds the smaller scales;
    /// - colour jitter 0.2 for brightness, contrast and saturation (Ha et al.'s
    ///   `RandomBrightness`/`RandomContrast(limit=0.2)`; Perez et al. used 0.3) and a mild hue
    ///   shift of 0.02 of the circle: lesion hue (blue-white veil, red vessels, brown network) is
    ///   diagnostic, so it gets less than Perez et al.'s 0.1 or Ha et al.'s ±10/180;
    /// - cutout off: both winners used it (Ha et al. one hole of 37.5 % of the side with p = 0.7,
    ///   Gessert et al. 16-pixel holes), but a large hole can hide most of a small lesion, so it is
    ///   a per-run choice rather than a default.
    public static let dermoscopy = AugmentationConfig(
        horizontalFlip: true, verticalFlip: true, transpose: true,
        rotationDegrees: 180, scale: 0.8...1.2, shift: 0.1,
        randomResizedCrop: RandomResizedCrop(scale: 0.6...1, ratio: 0.75...(4.0 / 3.0)),
        colorJitter: ColorJitter(brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.02),
        cutout: nil)

    /// True when `Augmenter.apply` does nothing but resize, so a trainer may cache its outputs
    /// (and the frozen layers' activations on them) across epochs.
    public var isIdentity: Bool {
        !horizontalFlip && !verticalFlip && !transpose && rotationDegrees == 0
            && (scale.map { $0 == 1...1 } ?? true) && shift == 0 && randomResizedCrop == nil
            && (colorJitter?.isIdentity ?? true) && (cutout?.isIdentity ?? true)
    }

    /// A field whose value the augmenter cannot use, named so that a bad run file or flag can be fixed.
    public struct InvalidValue: Error, CustomStringConvertible {
        public let field: String
        public let value: String
        public let requirement: String
        public var description: String { "augmentation \(field) = \(value): \(requirement)" }
    }

    /// Checks every field; configs come from run files and command lines, which are not trusted.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ value: Any, _ requirement: String) throws {
            if !ok { throw InvalidValue(field: field, value: "\(value)", requirement: requirement) }
        }
        try check((0...180).contains(rotationDegrees), "rotationDegrees", rotationDegrees, "must be in 0...180")
        if let scale {
            try check(scale.lowerBound > 0 && scale.upperBound <= 10, "scale", scale, "must lie in (0, 10]")
        }
        try check((0...1).contains(shift), "shift", shift, "must be in 0...1")
        if let crop = randomResizedCrop {
            try check(crop.scale.lowerBound > 0 && crop.scale.upperBound <= 1,
                      "randomResizedCrop.scale", crop.scale, "area fractions must lie in (0, 1]")
            try check(crop.ratio.lowerBound > 0 && crop.ratio.upperBound.isFinite,
                      "randomResizedCrop.ratio", crop.ratio, "aspect ratios must be positive and finite")
        }
        if let jitter = colorJitter {
            for (name, value) in [("brightness", jitter.brightness), ("contrast", jitter.contrast),
                                  ("saturation", jitter.saturation)] {
                try check(value >= 0 && value.isFinite, "colorJitter.\(name)", value, "must be finite and ≥ 0")
            }
            try check((0...0.5).contains(jitter.hue), "colorJitter.hue", jitter.hue, "must be in 0...0.5")
        }
        if let cutout {
            try check((0...64).contains(cutout.holes), "cutout.holes", cutout.holes, "must be in 0...64")
            try check((0...1).contains(cutout.size), "cutout.size", cutout.size, "must be in 0...1")
        }
    }
}
