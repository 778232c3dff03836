import CDNNL

/// Fully connected layer `y = x·Wᵀ + b` on `[N, in]`, with PyTorch's `[out, in]` weight.
/// Everything stays in plain layout: these matrices are small and feed Swift code directly.
public final class Linear: Layer {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter?
    /// At `.bf16`, training forwards and backwards take bf16 inputs, weights and output
    /// gradients, write FP32 logits and compute the weight gradient into FP32 (mixed precision,
    /// FP32 master weights). Set by `Layer.train(at:)`.
    public internal(set) var trainingPrecision = Precision.fp32
    private var saved: (x: Tensor, forward: Primitive, data: dnnl_data_type_t)?
    /// The weights in bf16, with the version they were converted from.
    private var packed: (version: Int, tensor: Tensor)?

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

    /// The input (or its gradient) in `data`, the weights (or their gradient) in `weights`, the
    /// output (or its gradient) in `output`; the bias always f32. The forward writes f32 logits,
    /// and the weight gradient is f32 for FP32 master weights.
    private func descriptors(_ n: Int, _ data: dnnl_data_type_t, weights: dnnl_data_type_t, output: dnnl_data_type_t) throws
        -> (src: MemoryDesc, weights: MemoryDesc, bias: MemoryDesc, dst: MemoryDesc) {
        (try .plain([n, inFeatures], data), try .plain([outFeatures, inFeatures], weights),
         bias != nil ? try .plain([outFeatures]) : MemoryDesc(), try .plain([n, outFeatures], output))
    }

    /// The weights in the element type `data`: the parameter itself for f32, a cached copy otherwise.
    private func weights(_ data: dnnl_data_type_t) throws -> Tensor {
        guard data != dnnl_f32 else { return weight.value }
        if let packed, packed.version == weight.version, packed.tensor.dataType == data { return packed.tensor }
        let tensor = try weight.value.converted(to: .plain(weight.shape, data))
        packed = (weight.version, tensor)
        return tensor
    }

    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        guard x.shape.count == 2, x.shape[1] == inFeatures else {
            throw NeuralNetError.invalidShape("Linear(\(inFeatures)→\(outFeatures)) expects [N, \(inFeatures)], got \(x.shape)")
        }
        let n = x.shape[0]
        let prop = mode == .training ? dnnl_forward_training : dnnl_forward_inference
        let data = mode == .training && trainingPrecision == .bf16 ? dnnl_bf16 : dnnl_f32
        let key = "ip_fwd|\(n)|\(inFeatures)|\(outFeatures)|\(bias != nil)|\(prop.rawValue)|\(data.rawValue)"
        let primitive = try Engine.shared.primitive(key) {
            var (src, weights, biasMD, dst) = try descriptors(n, data, weights: data, output: dnnl_f32)
            var op = dnnl_inner_product_desc_t()
            try check(dnnl_inner_product_forward_desc_init(&op, prop, &src, &weights, &biasMD, &dst), "inner_product_forward_desc_init")
            return try Primitive("linear forward", op: &op)
        }
        let src = try x.converted(to: .plain(x.shape, data))
        let y = try Tensor(md: .plain([n, outFeatures]))
        var args = [(CDNNL_ARG_SRC, src), (CDNNL_ARG_WEIGHTS, try weights(data)), (CDNNL_ARG_DST, y)]
        if let bias { args.append((CDNNL_ARG_BIAS, bias.value)) }
        try primitive.execute(args)
        saved = mode == .training ? (src, primitive, data) : nil
        return y
    }

    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let s = try NeuralNet.saved(saved, "Linear")
        saved = nil
        let n = s.x.shape[0]
        guard dy.shape == [n, outFeatures] else {
            throw NeuralNetError.invalidShape("Linear gradient must be [\(n), \(outFeatures)], got \(dy.shape)")
        }
        let gradient = try dy.converted(to: .plain(dy.shape, s.data))
        if weight.trainable || bias?.trainable == true {
            let primitive = try Engine.shared.primitive("ip_bwd_w|\(n)|\(inFeatures)|\(outFeatures)|\(bias != nil)|\(s.data.rawValue)") {
                var (src, weights, biasMD, dst) = try descriptors(n, s.data, weights: dnnl_f32, output: s.data)
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
        let primitive = try Engine.shared.primitive("ip_bwd_d|\(n)|\(inFeatures)|\(outFeatures)|\(s.data.rawValue)") {
            var (src, weights, _, dst) = try descriptors(n, s.data, weights: s.data, output: s.data)
            var op = dnnl_inner_product_desc_t()
            try check(dnnl_inner_product_backward_data_desc_init(&op, &src, &weights, &dst), "inner_product_backward_data_desc_init")
            return try Primitive("linear backward data", op: &op, hint: s.forward)
        }
        let dx = try Tensor(md: .plain([n, inFeatures], s.data))
        try primitive.execute([(CDNNL_ARG_DIFF_DST, gradient), (CDNNL_ARG_WEIGHTS, try weights(s.data)), (CDNNL_ARG_DIFF_SRC, dx)])
        return dx
    }
}
