import CDNNL

/// Fully connected layer `y = x·Wᵀ + b` on `[N, in]`, with PyTorch's `[out, in]` weight.
/// Everything stays in plain layout: these matrices are small and feed Swift code directly.
public final class Linear: Layer {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter?
    private var saved: (x: Tensor, forward: Primitive)?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) throws {
        guard inFeatures > 0, outFeatures > 0 else {
            throw NeuralNetError.invalidArgument("Linear sizes must be positive, got \(inFeatures)→\(outFeatures)")
        }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = try Parameter(shape: [outFeatures, inFeatures])
        self.bias = bias ? try Parameter(shape: [outFeatures]) : nil
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    private func descriptors(_ n: Int) throws -> (src: MemoryDesc, weights: MemoryDesc, bias: MemoryDesc, dst: MemoryDesc) {
        (try .plain([n, inFeatures]), try .plain([outFeatures, inFeatures]),
         bias != nil ? try .plain([outFeatures]) : MemoryDesc(), try .plain([n, outFeatures]))
    }

    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        guard x.shape.count == 2, x.shape[1] == inFeatures else {
            throw NeuralNetError.invalidShape("Linear(\(inFeatures)→\(outFeatures)) expects [N, \(inFeatures)], got \(x.shape)")
        }
        let n = x.shape[0]
        let prop = mode == .training ? dnnl_forward_training : dnnl_forward_inference
        let primitive = try Engine.shared.primitive("ip_fwd|\(n)|\(inFeatures)|\(outFeatures)|\(bias != nil)|\(prop.rawValue)") {
            var (src, weights, biasMD, dst) = try descriptors(n)
            var op = dnnl_inner_product_desc_t()
            try check(dnnl_inner_product_forward_desc_init(&op, prop, &src, &weights, &biasMD, &dst), "inner_product_forward_desc_init")
            return try Primitive("linear forward", op: &op)
        }
        let src = try x.converted(to: .plain(x.shape))
        let y = try Tensor(md: .plain([n, outFeatures]))
        var args = [(CDNNL_ARG_SRC, src), (CDNNL_ARG_WEIGHTS, weight.value), (CDNNL_ARG_DST, y)]
        if let bias { args.append((CDNNL_ARG_BIAS, bias.value)) }
        try primitive.execute(args)
        saved = mode == .training ? (src, primitive) : nil
        return y
    }

    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let s = try NeuralNet.saved(saved, "Linear")
        saved = nil
        let n = s.x.shape[0]
        guard dy.shape == [n, outFeatures] else {
            throw NeuralNetError.invalidShape("Linear gradient must be [\(n), \(outFeatures)], got \(dy.shape)")
        }
        let gradient = try dy.converted(to: .plain(dy.shape))
        if weight.trainable || bias?.trainable == true {
            let primitive = try Engine.shared.primitive("ip_bwd_w|\(n)|\(inFeatures)|\(outFeatures)|\(bias != nil)") {
                var (src, weights, biasMD, dst) = try descriptors(n)
                var op = dnnl_inner_product_desc_t()
                try check(dnnl_inner_product_backward_weights_desc_init(&op, &src, &weights, &biasMD, &dst),
                          "inner_product_backward_weights_desc_init")
                return try Primitive("linear backward weights", op: &op, hint: s.forward)
            }
            let dW = try Tensor(md: .plain([outFeatures, inFeatures]))
            var args = [(CDNNL_ARG_SRC, s.x), (CDNNL_ARG_DIFF_DST, gradient), (CDNNL_ARG_DIFF_WEIGHTS, dW)]
            let dB: Tensor? = bias != nil ? try Tensor(md: MemoryDesc.plain([outFeatures])) : nil
            if let dB { args.append((CDNNL_ARG_DIFF_BIAS, dB)) }
            try primitive.execute(args)
            if weight.trainable { weight.grad = dW }
            if let bias, bias.trainable { bias.grad = dB }
        }
        guard needsInputGradient else { return nil }
        let primitive = try Engine.shared.primitive("ip_bwd_d|\(n)|\(inFeatures)|\(outFeatures)") {
            var (src, weights, _, dst) = try descriptors(n)
            var op = dnnl_inner_product_desc_t()
            try check(dnnl_inner_product_backward_data_desc_init(&op, &src, &weights, &dst), "inner_product_backward_data_desc_init")
            return try Primitive("linear backward data", op: &op, hint: s.forward)
        }
        let dx = try Tensor(md: .plain([n, inFeatures]))
        try primitive.execute([(CDNNL_ARG_DIFF_DST, gradient), (CDNNL_ARG_WEIGHTS, weight.value), (CDNNL_ARG_DIFF_SRC, dx)])
        return dx
    }
}
