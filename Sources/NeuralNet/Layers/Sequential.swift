import CDNNL

/// Children run in order; names nest like `nn.Sequential` (`layer4.2.conv3.weight`).
public final class Sequential: Layer {
    public let children: [(name: String, layer: any Layer)]

    /// When true (the top level of a network being fine-tuned), the children before the first
    /// trainable one run in inference mode during training: they keep no activations and
    /// receive no gradient, so a frozen backbone costs only its forward pass. They may run at
    /// an inference precision (`train --frozen-precision`); what they hand the first trainable
    /// child is FP32 either way, so the trainable part trains at its own precision.
    public var skipsFrozenPrefix = false

    /// Called with each child as soon as its backward pass is done, before the children below it
    /// run theirs: data-parallel training starts reducing that child's gradients there, so the
    /// communication overlaps the rest of backward.
    public var didBackward: ((any Layer) throws -> Void)?

    /// Index of the first child that ran in training mode in the last training forward.
    private var firstTrainingChild = 0

    public init(_ children: [(String, any Layer)]) {
        self.children = children.map { (name: $0.0, layer: $0.1) }
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        children.flatMap { prefixed($0.name, $0.layer.namedParameters) }
    }

    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        firstTrainingChild = 0
        if mode == .training && skipsFrozenPrefix {
            firstTrainingChild = children.firstIndex { $0.layer.isTrainable } ?? children.count
        }
        var y = x
        for (index, child) in children.enumerated() {
            if index == firstTrainingChild && index > 0 && y.dataType != dnnl_f32 { y = try y.converted(to: y.md.retyped(dnnl_f32)) }
            y = try child.layer.forward(y, mode: index < firstTrainingChild ? .inference : mode)
        }
        return y
    }

    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        var gradient: Tensor? = dy
        for index in children.indices.reversed() where index >= firstTrainingChild {
            guard let g = gradient else { break }
            let needed = index > firstTrainingChild || (firstTrainingChild == 0 && needsInputGradient)
            gradient = try children[index].layer.backward(g, needsInputGradient: needed)
            try didBackward?(children[index].layer)
        }
        return firstTrainingChild == 0 ? gradient : nil
    }
}
