import Foundation
import NeuralNet

/// What happens to one image between the file and the network: decode (DCT-scaled when the
/// file is much larger than needed), then the training view (augmentation) or the evaluation
/// view (shorter side to the input size, centre crop), then the backbone's normalization.
public struct ImagePipeline: Sendable {
    public var inputSize: Int
    public var normalization: Normalization
    /// Applied to training batches only; evaluation always sees the plain centre view.
    public var augmentation: AugmentationConfig
    public var limits: DecodeLimits

    public init(inputSize: Int, normalization: Normalization, augmentation: AugmentationConfig = .none,
                limits: DecodeLimits = .standard) {
        self.inputSize = inputSize
        self.normalization = normalization
        self.augmentation = augmentation
        self.limits = limits
    }

    /// Decodes at the smallest DCT scale that still leaves `sourceSize` pixels on the shorter
    /// side: training crops need headroom, evaluation needs exactly the input size.
    public func decode(_ url: URL, sourceSize: Int) throws -> RGBImage {
        try ImageDecoder.decode(contentsOf: url, minimumSize: (sourceSize, sourceSize), limits: limits)
    }

    /// Source resolution to decode for a training or evaluation view. A random resized crop
    /// of area fraction s needs 1/√s times the input size to avoid upsampling.
    public func sourceSize(training: Bool) -> Int {
        guard training, let crop = augmentation.randomResizedCrop else { return inputSize }
        return Int((Float(inputSize) / crop.scale.lowerBound.squareRoot()).rounded(.up))
    }

    /// The `inputSize`×`inputSize` view the network sees.
    public func view(of source: RGBImage, training: Bool, rng: inout SeededGenerator) -> RGBImage {
        if training && !augmentation.isIdentity {
            return Augmenter(augmentation).apply(source, size: inputSize, rng: &rng)
        }
        if source.width == inputSize && source.height == inputSize { return source }
        return Resize.shorterSideThenCenterCrop(source, size: inputSize)
    }
}

/// A seed for one sample's randomness that depends only on (run seed, epoch, position), so
/// a batch comes out the same whichever worker thread builds it, and a resumed run repeats
/// it exactly.
public func sampleSeed(_ seed: UInt64, epoch: Int, position: Int) -> UInt64 {
    var generator = SeededGenerator(seed: seed ^ (UInt64(truncatingIfNeeded: epoch) &* 0x9E37_79B9_7F4A_7C15))
    for _ in 0..<2 { _ = generator.next() }
    return generator.next() ^ (UInt64(truncatingIfNeeded: position) &* 0xD1B5_4A32_D192_ED03)
}
