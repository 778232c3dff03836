import Models

/// How a run fuses patient metadata (`train --metadata age,sex,site`): which fields, the
/// fusion branch's sizes, the feature dropout, and whether the image part trains first.
public struct MetadataTraining: Codable, Sendable, Equatable {
    public enum Stage: Codable, Sendable, Equatable {
        /// Image and metadata train together from the first epoch.
        case joint
        /// Gessert et al. 2019: `imageEpochs` image-only epochs (the branch's output held at
        /// zero), then the backbone frozen while the branch and the head train.
        case afterImage(imageEpochs: Int)
    }

    /// Field names as given: dataset columns or the short names `age`, `sex`, `site`.
    public var features: [String]
    /// Probability that a training sample's feature is replaced by "missing", per feature and
    /// step (Gessert's 0.1), so the model learns to predict without it.
    public var featureDropout: Float = 0.1
    public var hidden = MetadataFusion.standardHidden
    public var branchDropout = MetadataFusion.standardDropout
    public var stage = Stage.joint

    public init(features: [String]) { self.features = features }

    func validate(epochs: Int) throws {
        func require(_ ok: Bool, _ message: String) throws {
            if !ok { throw TrainingError.invalidConfig(message) }
        }
        try require(!features.isEmpty && Set(features).count == features.count, "--metadata needs distinct field names")
        try require((0..<1).contains(featureDropout), "metadata feature dropout must be in [0, 1), got \(featureDropout)")
        try require(!hidden.isEmpty && hidden.allSatisfy { $0 > 0 }, "metadata hidden sizes must be positive, got \(hidden)")
        try require((0..<1).contains(branchDropout), "metadata branch dropout must be in [0, 1), got \(branchDropout)")
        if case .afterImage(let imageEpochs) = stage {
            try require((1..<epochs).contains(imageEpochs),
                        "--metadata-stage after-image needs 1 to \(epochs - 1) image epochs before the metadata epochs, got \(imageEpochs)")
        }
    }
}
