import Models
import NeuralNet

/// Grad-CAM (Selvaraju et al. 2017): where in the image the evidence for one class lies.
///
/// The activations A of `architecture.camLayer` are weighted per channel by the mean
/// gradient of the class *logit* (pre-softmax, as in the paper) and summed; the ReLU keeps
/// only the regions that raise the score. The network is split at that layer: the prefix runs
/// in inference mode (nothing to differentiate there), the suffix in training mode so its
/// backward exists, yet with every BatchNorm on running statistics and dropout skipped, so
/// its logits are exactly the inference ones. Its weights are frozen for the pass, so no
/// gradient is written into the model; flags are restored afterwards.
public enum GradCAM {
    /// The map at the resolution of the CAM layer (`layer4`: input / 32), row-major, in
    /// [0, 1] with maximum 1, or all zero when no region supports the class.
    public static func heatmap(model: Classifier, input: Tensor, classIndex: Int) throws
        -> (map: [Float], width: Int, height: Int) {
        let pass = try backpropagate(model: model, input: input, classIndex: classIndex)
        let plane = pass.width * pass.height
        var cam = [Float](repeating: 0, count: plane)
        for c in 0..<pass.channels {
            let channel = c * plane
            let alpha = pass.gradient[channel..<channel + plane].reduce(0, +) / Float(plane)
            for i in 0..<plane { cam[i] += alpha * pass.activations[channel + i] }
        }
        let peak = cam.max() ?? 0
        let map = cam.map { peak > 0 ? max($0, 0) / peak : 0 }
        return (map, pass.width, pass.height)
    }

    /// What one Grad-CAM pass computes, row-major: activations A and dlogit/dA of shape
    /// [C, h, w], and the logits of the whole batch-of-one (kept so tests can check them
    /// against inference).
    struct Pass {
        let activations: [Float]
        let gradient: [Float]
        let logits: [Float]
        let channels: Int
        let height: Int
        let width: Int
    }

    static func backpropagate(model: Classifier, input: Tensor, classIndex: Int) throws -> Pass {
        guard input.shape.count == 4, input.shape[0] == 1, input.shape[1] == 3 else {
            throw NeuralNetError.invalidShape("Grad-CAM explains one image [1, 3, H, W], got \(input.shape)")
        }
        guard (0..<model.classes).contains(classIndex) else {
            throw NeuralNetError.invalidArgument("class \(classIndex) is outside 0..<\(model.classes)")
        }
        let (prefix, suffix) = try model.split(after: model.architecture.camLayer)
        let a = try prefix.reduce(input) { try $1.forward($0, mode: .inference) }
        guard a.shape.count == 4 else {
            throw NeuralNetError.invalidShape("\(model.architecture.camLayer) gives \(a.shape), not a feature map")
        }

        let weights = suffix.flatMap(\.parameters)
        let frozen = weights.map(\.frozen)
        let norms = suffix.flatMap(\.batchNorms)
        let statistics = norms.map(\.usesRunningStatistics)
        defer {
            zip(weights, frozen).forEach { $0.frozen = $1 }
            zip(norms, statistics).forEach { $0.usesRunningStatistics = $1 }
        }
        weights.forEach { $0.frozen = true }
        norms.forEach { $0.usesRunningStatistics = true }

        let logits = try suffix.reduce(a) { try forward($1, $0) }
        var oneHot = [Float](repeating: 0, count: model.classes)
        oneHot[classIndex] = 1
        var gradient = try Tensor(shape: logits.shape, values: oneHot)
        for layer in suffix.reversed() { gradient = try backward(layer, gradient) }
        return Pass(activations: try a.toArray(), gradient: try gradient.toArray(), logits: try logits.toArray(),
                    channels: a.shape[1], height: a.shape[2], width: a.shape[3])
    }

    /// A training forward that equals inference once BatchNorms use running statistics:
    /// dropout (which heads hold in `Sequential`s) is skipped rather than masked.
    private static func forward(_ layer: any Layer, _ x: Tensor) throws -> Tensor {
        switch layer {
        case is Dropout: return x
        case let sequential as Sequential: return try sequential.children.reduce(x) { try forward($1.layer, $0) }
        default: return try layer.forward(x, mode: .training)
        }
    }

    /// The backward matching `forward`, always asking for the input gradient.
    private static func backward(_ layer: any Layer, _ dy: Tensor) throws -> Tensor {
        switch layer {
        case is Dropout: return dy
        case let sequential as Sequential:
            return try sequential.children.reversed().reduce(dy) { try backward($1.layer, $0) }
        default:
            guard let dx = try layer.backward(dy, needsInputGradient: true) else {
                throw NeuralNetError.invalidArgument("\(type(of: layer)) returned no input gradient")
            }
            return dx
        }
    }
}
