import NeuralNet

/// The metadata branch, the concatenation and the head as one top-level module of a fusion
/// classifier: `head([features, branch(metadata)])`.
///
/// The image features arrive as the layer input like any head's; the metadata vector is a side
/// input set through `Classifier.setMetadata(_:)` before each forward, so the backbone, the
/// frozen-feature cache and Grad-CAM's prefix/suffix split keep their one-tensor interface.
/// Its parameters keep their own names (`meta.*` and the architecture's head name), not
/// nested under this module.
public final class MetadataFusionHead: Layer {
    public let fusion: MetadataFusion
    public let headName: String
    package let branch: Sequential
    package let head: any Layer
    package let imageFeatures: Int
    private let concat = Concat()
    /// `[N, fusion.inputs]`, consumed by the next forward.
    var metadata: Tensor?
    /// False during the image stage of two-stage training: the branch's output is replaced by
    /// zeros, so the model computes exactly an image-only head.
    public var usesMetadata = true
    private var branchTrained = false

    init(fusion: MetadataFusion, imageFeatures: Int, headName: String, head: any Layer, seed: UInt64) throws {
        self.fusion = fusion
        self.headName = headName
        self.imageFeatures = imageFeatures
        self.head = head
        branch = try fusion.buildBranch(seed: seed)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        prefixedNames(MetadataFusion.branchName, branch.namedParameters) + prefixedNames(headName, head.namedParameters)
    }

    /// Dropout layers of the branch and the head, for `Classifier.reseedDropout`.
    var children: [any Layer] { [branch, head] }

    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        guard x.shape.count == 2, x.shape[1] == imageFeatures else {
            throw NeuralNetError.invalidShape("the fusion head expects pooled features [N, \(imageFeatures)], got \(x.shape)")
        }
        guard let metadata else {
            throw NeuralNetError.invalidArgument("this model fuses patient metadata: give a metadata vector with every image")
        }
        guard metadata.shape == [x.shape[0], fusion.inputs] else {
            throw NeuralNetError.invalidShape("metadata must be [\(x.shape[0]), \(fusion.inputs)] for this batch, got \(metadata.shape)")
        }
        let encoded: Tensor
        if usesMetadata {
            branchTrained = mode == .training && branch.isTrainable
            encoded = try branch.forward(metadata, mode: branchTrained ? .training : .inference)
        } else {
            branchTrained = false
            encoded = try Tensor(shape: [x.shape[0], fusion.outputs], repeating: 0)
        }
        let joined = try concat.forward([x, encoded], mode: mode)
        return try head.forward(joined, mode: mode)
    }

    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        guard let joined = try head.backward(dy, needsInputGradient: true) else {
            throw NeuralNetError.invalidArgument("the fusion head's head returned no input gradient")
        }
        let parts = try concat.backward(joined)
        if branchTrained { _ = try branch.backward(parts[1], needsInputGradient: false) }
        return needsInputGradient ? parts[0] : nil
    }
}

/// `prefixed` for modules outside NeuralNet.
func prefixedNames(_ prefix: String, _ children: [(name: String, parameter: Parameter)]) -> [(name: String, parameter: Parameter)] {
    children.map { (prefix + "." + $0.name, $0.parameter) }
}
