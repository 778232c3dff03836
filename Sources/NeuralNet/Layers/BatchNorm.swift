import CDNNL

/// Batch normalization over the channel axis of `[N, C, H, W]` (BatchNorm2d) or `[N, C]`
/// (BatchNorm1d), with torchvision's names: `weight`, `bias`, `running_mean`, `running_var`,
/// `num_batches_tracked`.
///
/// Three behaviours: training (batch statistics, running statistics updated with PyTorch's
/// momentum and unbiased variance), inference (running statistics), and *frozen statistics*
/// (`usesRunningStatistics`): running statistics even while training, with gradients still
/// flowing through, which is how Keras fine-tunes a backbone whose BatchNorm stays in
/// inference mode.
///
/// `scale: false` drops γ (Keras's `BatchNormalization(scale=False)`, as InceptionV3 uses
/// it): the normalisation is followed by the shift β only, and `weight` is a fixed γ = 1 that
/// is neither in the state dict nor trained.
public final class BatchNorm: Layer {
    public let channels: Int
    public let epsilon: Float
    public let momentum: Float
    /// Whether γ is a learned parameter (`weight`); false for Keras's `scale=False`.
    public let scaled: Bool
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Parameter
    public let runningVar: Parameter
    public let numBatchesTracked: Parameter
    public var usesRunningStatistics = false
    /// Sums statistics over the processes of a data-parallel job (synchronised BatchNorm);
    /// nil normalises over this process's batch alone.
    public var statisticsSum: (any StatisticsSum)?

    /// What the backward needs; `synchronized` holds the reduction and the global count per
    /// channel when the statistics were the global batch's.
    private var saved: (x: Tensor, mean: Tensor, variance: Tensor, flags: UInt32, forward: Primitive,
                        synchronized: (reduction: any StatisticsSum, count: Double)?)?

    public init(_ channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1, scale: Bool = true) throws {
        guard channels > 0 else { throw NeuralNetError.invalidArgument("BatchNorm needs a positive channel count, got \(channels)") }
        self.channels = channels
        scaled = scale
        self.epsilon = epsilon
        self.momentum = momentum
        weight = try Parameter(shape: [channels], values: [Float](repeating: 1, count: channels))
        bias = try Parameter(shape: [channels])
        runningMean = try Parameter(shape: [channels], kind: .buffer)
        runningVar = try Parameter(shape: [channels], kind: .buffer, values: [Float](repeating: 1, count: channels))
        numBatchesTracked = try Parameter(shape: [], kind: .counter)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        (scaled ? [("weight", weight)] : []) + [("bias", bias), ("running_mean", runningMean), ("running_var", runningVar),
                                                 ("num_batches_tracked", numBatchesTracked)]
    }

    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        guard (x.shape.count == 2 || x.shape.count == 4), x.shape[1] == channels else {
            throw NeuralNetError.invalidShape("BatchNorm(\(channels)) expects [N, \(channels)] or [N, \(channels), H, W], got \(x.shape)")
        }
        let global = mode == .inference || usesRunningStatistics
        if !global && x.count / channels < 2 {
            throw NeuralNetError.invalidShape("BatchNorm(\(channels)) needs more than one value per channel to train, got \(x.shape)")
        }
        if !global, let statisticsSum { return try synchronizedForward(x, statisticsSum) }
        let flags = (scaled ? dnnl_use_scale.rawValue : 0) | dnnl_use_shift.rawValue | (global ? dnnl_use_global_stats.rawValue : 0)
        let prop = mode == .training ? dnnl_forward_training : dnnl_forward_inference
        let primitive = try forwardPrimitive(x, prop, flags)
        let y = try Tensor(md: primitive.md(dnnl_query_dst_md))
        let mean = global ? runningMean.value : try Tensor(md: .plain([channels]))
        let variance = global ? runningVar.value : try Tensor(md: .plain([channels]))
        try primitive.execute([(CDNNL_ARG_SRC, x), (CDNNL_ARG_DST, y), (CDNNL_ARG_SHIFT, bias.value),
                               (CDNNL_ARG_MEAN, mean), (CDNNL_ARG_VARIANCE, variance)]
                              + (scaled ? [(CDNNL_ARG_SCALE, weight.value)] : []))
        if !global { updateRunningStatistics(mean: mean, variance: variance, perChannel: x.count / channels) }
        saved = mode == .training ? (x, mean, variance, flags, primitive, nil) : nil
        return y
    }

    /// Inference followed by ReLU in one oneDNN primitive (`fuse_norm_relu`): one pass over `x`
    /// instead of two. For the pre-activation blocks (ResNetV2, DenseNet), whose BatchNorm
    /// follows no convolution it could be folded into. `mode` `.training` (or frozen statistics)
    /// runs the two layers' ordinary forwards, since the backward needs what they keep.
    public func forward(_ x: Tensor, mode: Mode, then relu: Activation) throws -> Tensor {
        guard mode == .inference, relu.kind == .relu else { return try relu.forward(forward(x, mode: mode), mode: mode) }
        guard (x.shape.count == 2 || x.shape.count == 4), x.shape[1] == channels else {
            throw NeuralNetError.invalidShape("BatchNorm(\(channels)) expects [N, \(channels)] or [N, \(channels), H, W], got \(x.shape)")
        }
        let flags = (scaled ? dnnl_use_scale.rawValue : 0) | dnnl_use_shift.rawValue | dnnl_use_global_stats.rawValue
            | dnnl_fuse_norm_relu.rawValue
        let primitive = try forwardPrimitive(x, dnnl_forward_inference, flags)
        let y = try Tensor(md: primitive.md(dnnl_query_dst_md))
        try primitive.execute([(CDNNL_ARG_SRC, x), (CDNNL_ARG_DST, y), (CDNNL_ARG_SHIFT, bias.value),
                               (CDNNL_ARG_MEAN, runningMean.value), (CDNNL_ARG_VARIANCE, runningVar.value)]
                              + (scaled ? [(CDNNL_ARG_SCALE, weight.value)] : []))
        return y
    }

    private func forwardPrimitive(_ x: Tensor, _ prop: dnnl_prop_kind_t, _ flags: UInt32) throws -> Primitive {
        try Engine.shared.primitive("bn_fwd|\(x.md.key)|\(prop.rawValue)|\(flags)|\(epsilon)") {
            var op = dnnl_batch_normalization_desc_t()
            var md = x.md
            try check(dnnl_batch_normalization_forward_desc_init(&op, prop, &md, epsilon, flags), "batch_normalization_forward_desc_init")
            return try Primitive("batchnorm forward", op: &op)
        }
    }

    /// Training over the global batch of a data-parallel job: this process's mean and variance
    /// (oneDNN), combined over the processes in Double with Chan's formula (first the counts and
    /// sums, then Σ nᵣ(σᵣ² + (μᵣ − μ)²), which keeps the precision a single pass of sums of
    /// squares would lose), then normalisation with those as fixed statistics. γ is always passed
    /// (1 when not `scaled`) because the backward needs its Σ dy·x̂.
    private func synchronizedForward(_ x: Tensor, _ reduction: any StatisticsSum) throws -> Tensor {
        let local = try forwardPrimitive(x, dnnl_forward_training, dnnl_use_scale.rawValue | dnnl_use_shift.rawValue)
        let mean = try Tensor(md: .plain([channels]))
        let variance = try Tensor(md: .plain([channels]))
        try local.execute([(CDNNL_ARG_SRC, x), (CDNNL_ARG_DST, try Tensor(md: local.md(dnnl_query_dst_md))),
                           (CDNNL_ARG_SCALE, weight.value), (CDNNL_ARG_SHIFT, bias.value),
                           (CDNNL_ARG_MEAN, mean), (CDNNL_ARG_VARIANCE, variance)])
        let n = Double(x.count / channels)
        var sums = (0..<channels).map { n * Double(mean.pointer[$0]) } + [n]
        try sums.withUnsafeMutableBufferPointer { try reduction.sum($0) }
        let total = sums[channels]
        let globalMean = sums.prefix(channels).map { $0 / total }
        var spread = (0..<channels).map { c -> Double in
            let offset = Double(mean.pointer[c]) - globalMean[c]
            return n * (Double(variance.pointer[c]) + offset * offset)
        }
        try spread.withUnsafeMutableBufferPointer { try reduction.sum($0) }
        for c in 0..<channels {
            mean.pointer[c] = Float(globalMean[c])
            variance.pointer[c] = Float(spread[c] / total)
        }
        let flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue | dnnl_use_global_stats.rawValue
        let primitive = try forwardPrimitive(x, dnnl_forward_training, flags)
        let y = try Tensor(md: primitive.md(dnnl_query_dst_md))
        try primitive.execute([(CDNNL_ARG_SRC, x), (CDNNL_ARG_DST, y), (CDNNL_ARG_SCALE, weight.value),
                               (CDNNL_ARG_SHIFT, bias.value), (CDNNL_ARG_MEAN, mean), (CDNNL_ARG_VARIANCE, variance)])
        updateRunningStatistics(mean: mean, variance: variance, perChannel: Int(total))
        saved = (x, mean, variance, flags, primitive, (reduction, total))
        return y
    }

    /// PyTorch's update: running = (1 − momentum)·running + momentum·batch, where the batch
    /// variance is the unbiased one (n / (n − 1)).
    private func updateRunningStatistics(mean: Tensor, variance: Tensor, perChannel n: Int) {
        let unbias = Float(n) / Float(n - 1)
        for c in 0..<channels {
            runningMean.storage[c] = (1 - momentum) * runningMean.storage[c] + momentum * mean.pointer[c]
            runningVar.storage[c] = (1 - momentum) * runningVar.storage[c] + momentum * variance.pointer[c] * unbias
        }
        numBatchesTracked.storage[0] += 1
        runningMean.markUpdated()
        runningVar.markUpdated()
        numBatchesTracked.markUpdated()
    }

    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let s = try NeuralNet.saved(saved, "BatchNorm")
        saved = nil
        // Always the full backward: oneDNN 2.6 lacks backward_data for most flag combinations,
        // and the γ/β gradients cost one extra reduction; they are dropped when frozen.
        let primitive = try Engine.shared.primitive("bn_bwd|\(s.x.md.key)|\(s.flags)|\(epsilon)") {
            var op = dnnl_batch_normalization_desc_t()
            var md = s.x.md
            try check(dnnl_batch_normalization_backward_desc_init(&op, dnnl_backward, &md, &md, epsilon, s.flags),
                      "batch_normalization_backward_desc_init")
            return try Primitive("batchnorm backward", op: &op, hint: s.forward)
        }
        let gradient = try dy.converted(to: s.x.md)
        let dx = try Tensor(md: primitive.md(dnnl_query_diff_src_md))
        let dScale = try Tensor(md: .plain([channels]))
        let dShift = try Tensor(md: .plain([channels]))
        try primitive.execute([(CDNNL_ARG_SRC, s.x), (CDNNL_ARG_MEAN, s.mean), (CDNNL_ARG_VARIANCE, s.variance),
                               (CDNNL_ARG_SHIFT, bias.value), (CDNNL_ARG_DIFF_DST, gradient), (CDNNL_ARG_DIFF_SRC, dx),
                               (CDNNL_ARG_DIFF_SHIFT, dShift)]
                              + (scaled || s.synchronized != nil ? [(CDNNL_ARG_SCALE, weight.value), (CDNNL_ARG_DIFF_SCALE, dScale)] : []))
        if scaled && weight.trainable { weight.grad = dScale }
        if bias.trainable { bias.grad = dShift }
        guard needsInputGradient else { return nil }
        if let synchronized = s.synchronized {
            return try addingStatisticsGradient(to: dx, s.x, mean: s.mean, variance: s.variance, dScale: dScale, dShift: dShift,
                                                synchronized.reduction, count: synchronized.count)
        }
        return dx
    }

    /// With fixed statistics oneDNN returns dx = γσ⁻¹·dy; the statistics of the global batch
    /// depend on x too, which adds −γσ⁻¹·(Σdy + x̂·Σdy·x̂)/M, the sums over the global batch
    /// (the local ones are oneDNN's dβ and dγ, summed over the processes). That term is an affine
    /// function of x̂ per channel, so an inference BatchNorm with the same mean and variance
    /// computes it in x's own layout. The sum is taken in FP32 (a bf16 `dx` is widened first).
    private func addingStatisticsGradient(to dx: Tensor, _ x: Tensor, mean: Tensor, variance: Tensor, dScale: Tensor,
                                          dShift: Tensor, _ reduction: any StatisticsSum, count: Double) throws -> Tensor {
        var sums = (0..<channels).map { Double(dScale.pointer[$0]) } + (0..<channels).map { Double(dShift.pointer[$0]) }
        try sums.withUnsafeMutableBufferPointer { try reduction.sum($0) }
        let scale = try Tensor(md: .plain([channels]))
        let shift = try Tensor(md: .plain([channels]))
        for c in 0..<channels {
            let factor = -Double(weight.storage[c]) / (Double(variance.pointer[c]) + Double(epsilon)).squareRoot() / count
            scale.pointer[c] = Float(factor * sums[c])
            shift.pointer[c] = Float(factor * sums[channels + c])
        }
        let flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue | dnnl_use_global_stats.rawValue
        let primitive = try forwardPrimitive(x, dnnl_forward_inference, flags)
        let term = try Tensor(md: primitive.md(dnnl_query_dst_md))
        try primitive.execute([(CDNNL_ARG_SRC, x), (CDNNL_ARG_DST, term), (CDNNL_ARG_SCALE, scale), (CDNNL_ARG_SHIFT, shift),
                               (CDNNL_ARG_MEAN, mean), (CDNNL_ARG_VARIANCE, variance)])
        let dx = try dx.converted(to: dx.md.retyped(dnnl_f32))
        let aligned = try term.converted(to: dx.md)
        for i in 0..<dx.physicalCount { dx.pointer[i] += aligned.pointer[i] }
        return dx
    }

    /// Per-channel (scale, shift) such that inference output = scale·x + shift; used to fold
    /// this layer into the preceding convolution.
    func inferenceAffine() -> (scale: [Float], shift: [Float]) {
        var scale = [Float](repeating: 0, count: channels)
        var shift = [Float](repeating: 0, count: channels)
        for c in 0..<channels {
            scale[c] = (scaled ? weight.storage[c] : 1) / (runningVar.storage[c] + epsilon).squareRoot()
            shift[c] = bias.storage[c] - runningMean.storage[c] * scale[c]
        }
        return (scale, shift)
    }
}
