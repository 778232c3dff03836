import CDNNL

/// 2-D convolution with stride, padding, dilation and groups (depthwise when
/// groups == in == out), optional bias. Weights are `[out, in/groups, kh, kw]`, torchvision's
/// layout and name (`weight`, `bias`).
public final class Conv2D: Layer {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: [Int]
    public let stride: [Int]
    public let dilation: [Int]
    /// Top/left and bottom/right padding; they differ for TensorFlow's "same" padding.
    public let paddingLow: [Int]
    public let paddingHigh: [Int]
    public let groups: Int
    public let weight: Parameter
    public let bias: Parameter?
    /// The number format of training forwards and backwards: at `.bf16` the activations,
    /// weights and gradients flowing through are bf16 while the weight gradient is computed
    /// into FP32, for FP32 master weights (mixed precision). Set by `Layer.train(at:)`.
    public internal(set) var trainingPrecision = Precision.fp32

    /// Weights converted to the layouts primitives asked for, each with the version it was
    /// made from.
    private var packed: [String: (version: Int, tensor: Tensor)] = [:]
    /// The forward primitives this layer has run, by what they were asked for: hashing these
    /// few values is far cheaper than spelling out the engine cache's key on every call (an
    /// int8 key holds every output channel's scale).
    private var forwardPrimitives: [ForwardQuery: Primitive] = [:]
    private var savedInput: Tensor?
    private var savedForward: Primitive?
    private var savedTypes = ConvTypes.f32
    /// Zeros for the fused residual sum of a convolution without bias (the fused primitive
    /// always takes one), made once.
    private lazy var zeroBias = Result { try Tensor(shape: [outChannels], repeating: 0) }

    public convenience init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = false) throws {
        try self.init(inChannels, outChannels, kernel: [kernel, kernel], stride: [stride, stride],
                      paddingLow: [padding, padding], paddingHigh: [padding, padding],
                      dilation: [dilation, dilation], groups: groups, bias: bias)
    }

    public init(_ inChannels: Int, _ outChannels: Int, kernel: [Int], stride: [Int], paddingLow: [Int],
                paddingHigh: [Int], dilation: [Int] = [1, 1], groups: Int = 1, bias: Bool = false) throws {
        let geometry: [[Int]] = [kernel, stride, paddingLow, paddingHigh, dilation]
        guard geometry.allSatisfy({ $0.count == 2 }) else {
            throw NeuralNetError.invalidArgument("Conv2D kernel, stride, padding and dilation need 2 values each")
        }
        guard inChannels > 0, outChannels > 0, groups > 0, inChannels % groups == 0, outChannels % groups == 0 else {
            throw NeuralNetError.invalidArgument(
                "Conv2D channels \(inChannels)→\(outChannels) must be positive and divisible by groups=\(groups)")
        }
        guard kernel.allSatisfy({ $0 > 0 }), stride.allSatisfy({ $0 > 0 }), dilation.allSatisfy({ $0 > 0 }),
              (paddingLow + paddingHigh).allSatisfy({ $0 >= 0 }) else {
            throw NeuralNetError.invalidArgument("Conv2D kernel, stride and dilation must be positive, padding non-negative")
        }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.paddingLow = paddingLow
        self.paddingHigh = paddingHigh
        self.dilation = dilation
        self.groups = groups
        weight = try Parameter(shape: [outChannels, inChannels / groups] + kernel)
        self.bias = bias ? try Parameter(shape: [outChannels]) : nil
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// Weight dimensions as oneDNN wants them: grouped convolutions get a leading group axis,
    /// which in row-major order is the same memory as torchvision's `[out, in/groups, kh, kw]`.
    var weightDims: [Int] {
        groups == 1 ? weight.shape : [groups, outChannels / groups, inChannels / groups] + kernel
    }

    public func outputShape(for input: [Int]) throws -> [Int] {
        guard input.count == 4, input[1] == inChannels else {
            throw NeuralNetError.invalidShape("Conv2D(\(inChannels)→\(outChannels)) expects [N, \(inChannels), H, W], got \(input)")
        }
        let spatial = (0..<2).map { (i: Int) -> Int in
            let extent = dilation[i] * (kernel[i] - 1) + 1
            return (input[2 + i] + paddingLow[i] + paddingHigh[i] - extent) / stride[i] + 1
        }
        guard spatial.allSatisfy({ $0 > 0 }) else {
            throw NeuralNetError.invalidShape("Conv2D kernel \(kernel) does not fit input \(input) with padding \(paddingLow)/\(paddingHigh)")
        }
        return [input[0], outChannels] + spatial
    }

    func geometryKey(_ input: [Int]) -> String {
        "\(input)|\(outChannels)|g\(groups)|k\(kernel)|s\(stride)|d\(dilation)|p\(paddingLow)\(paddingHigh)"
    }

    /// Stride, dilation (oneDNN counts it from 0) and padding, as the C API takes them.
    private var spatialArguments: ([dnnl_dim_t], [dnnl_dim_t], [dnnl_dim_t], [dnnl_dim_t]) {
        (dnnlDims(stride), dnnlDims(dilation.map { $0 - 1 }), dnnlDims(paddingLow), dnnlDims(paddingHigh))
    }

    /// Descriptors shared by the three convolution primitives.
    private func descriptors(_ input: [Int], _ types: ConvTypes = .f32) throws
        -> (src: MemoryDesc, weights: MemoryDesc, dst: MemoryDesc) {
        (try .any(input, types.src), try .any(weightDims, types.weights), try .any(outputShape(for: input), types.dst))
    }

    /// Builds (or fetches) a forward primitive; `fusion` adds post-ops for inference, `types`
    /// are the element types the precision asks for.
    func forwardPrimitive(_ input: [Int], training: Bool, hasBias: Bool, fusion: Fusion = .none,
                          types: ConvTypes = .f32) throws -> Primitive {
        let query = ForwardQuery(input: input, training: training, hasBias: hasBias, fusion: fusion, types: types)
        if let known = forwardPrimitives[query] { return known }
        let prop = training ? dnnl_forward_training : dnnl_forward_inference
        let key = "conv_fwd|\(geometryKey(input))|\(prop.rawValue)|b\(hasBias)|\(fusion.key)|\(types.key)"
        let primitive = try Engine.shared.primitive(key) {
            var (src, weights, dst) = try descriptors(input, types)
            var bias = hasBias ? try MemoryDesc.plain([outChannels]) : MemoryDesc()
            var op = dnnl_convolution_desc_t()
            let (s, d, pl, pr) = spatialArguments
            let status = withUnsafePointer(to: &bias) { biasPointer in
                dnnl_dilated_convolution_forward_desc_init(&op, prop, dnnl_convolution_direct, &src, &weights,
                                                           hasBias ? biasPointer : nil, &dst, s, d, pl, pr)
            }
            try check(status, "convolution_forward_desc_init(\(geometryKey(input)))")
            let attr = try fusion.attributes()
            defer { if let attr { dnnl_primitive_attr_destroy(attr) } }
            return try Primitive(types.primitiveName, op: &op, attr: attr)
        }
        forwardPrimitives[query] = primitive
        return primitive
    }

    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        let types: ConvTypes = mode == .training && trainingPrecision == .bf16 ? .bf16 : .f32
        let primitive = try forwardPrimitive(x.shape, training: mode == .training, hasBias: bias != nil, types: types)
        let src = try x.converted(to: primitive.md(dnnl_query_src_md))
        let w = try pack(weight.value, version: weight.version, as: primitive.md(dnnl_query_weights_md), tag: "w")
        let dst = try Tensor(md: primitive.md(dnnl_query_dst_md))
        var args = [(CDNNL_ARG_SRC, src), (CDNNL_ARG_WEIGHTS, w), (CDNNL_ARG_DST, dst)]
        if let bias { args.append((CDNNL_ARG_BIAS, bias.value)) }
        try primitive.execute(args)
        (savedInput, savedForward) = mode == .training ? (src, primitive) : (nil, nil)
        savedTypes = types
        return dst
    }

    /// Inference of `conv(x) + residual`, the sum fused as a post-op; the result is written
    /// into the residual's buffer when its layout already matches, so callers must not reuse
    /// `residual` afterwards.
    public func forward(_ x: Tensor, adding residual: Tensor) throws -> Tensor {
        return try forwardFused(x, weight: weight.value, bias: bias?.value ?? zeroBias.get(), version: weight.version,
                                fusion: Fusion(accumulate: true), into: residual, tag: "w")
    }

    /// Inference with replacement weights and bias (BatchNorm folded in by `ConvBN`) and
    /// fused post-ops. With `.accumulate`, `into` holds the residual and receives the result.
    /// `tag` names the weights in the packing cache: folded ones by default, "w" for the
    /// layer's own, which then share the packed copy `forward` uses.
    func forwardFused(_ x: Tensor, weight folded: Tensor, bias foldedBias: Tensor, version: Int,
                      fusion: Fusion, into residual: Tensor?, types: ConvTypes = .f32, tag: String? = nil) throws -> Tensor {
        let primitive = try forwardPrimitive(x.shape, training: false, hasBias: true, fusion: fusion, types: types)
        let src = try x.converted(to: primitive.md(dnnl_query_src_md))
        let w = try pack(folded, version: version, as: primitive.md(dnnl_query_weights_md), tag: tag ?? "folded\(types.key)")
        let dstMD = primitive.md(dnnl_query_dst_md)
        let dst = try residual.map { try $0.converted(to: dstMD) } ?? Tensor(md: dstMD)
        try primitive.execute([(CDNNL_ARG_SRC, src), (CDNNL_ARG_WEIGHTS, w), (CDNNL_ARG_BIAS, foldedBias),
                               (CDNNL_ARG_DST, dst)])
        return dst
    }

    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let x = try saved(savedInput, "Conv2D")
        let forward = try saved(savedForward, "Conv2D")
        (savedInput, savedForward) = (nil, nil)
        if weight.trainable || bias?.trainable == true {
            try backwardWeights(dy, x, forward, savedTypes)
        }
        return needsInputGradient ? try backwardData(dy, x.shape, forward, savedTypes) : nil
    }

    /// dW = Σ dy ⊛ x (and dB = Σ dy), reordered back to the plain layout of the parameter;
    /// always FP32, also from bf16 data, so the optimizer updates FP32 master weights.
    private func backwardWeights(_ dy: Tensor, _ x: Tensor, _ forward: Primitive, _ types: ConvTypes) throws {
        let hasBias = bias != nil
        let gradientTypes = ConvTypes(src: types.src, weights: dnnl_f32, dst: types.dst)
        let primitive = try Engine.shared.primitive("conv_bwd_w|\(geometryKey(x.shape))|b\(hasBias)|\(gradientTypes.key)") {
            var (src, weights, dst) = try descriptors(x.shape, gradientTypes)
            var biasMD = hasBias ? try MemoryDesc.plain([outChannels]) : MemoryDesc()
            var op = dnnl_convolution_desc_t()
            let (s, d, pl, pr) = spatialArguments
            let status = withUnsafePointer(to: &biasMD) { biasPointer in
                dnnl_dilated_convolution_backward_weights_desc_init(&op, dnnl_convolution_direct, &src, &weights,
                                                                    hasBias ? biasPointer : nil, &dst, s, d, pl, pr)
            }
            try check(status, "convolution_backward_weights_desc_init")
            return try Primitive("conv backward weights", op: &op, hint: forward)
        }
        let src = try x.converted(to: primitive.md(dnnl_query_src_md))
        let gradient = try dy.converted(to: primitive.md(dnnl_query_diff_dst_md))
        let dW = try Tensor(md: primitive.md(dnnl_query_diff_weights_md))
        var args = [(CDNNL_ARG_SRC, src), (CDNNL_ARG_DIFF_DST, gradient), (CDNNL_ARG_DIFF_WEIGHTS, dW)]
        let dB: Tensor? = hasBias ? try Tensor(md: MemoryDesc.plain([outChannels])) : nil
        if let dB { args.append((CDNNL_ARG_DIFF_BIAS, dB)) }
        try primitive.execute(args)
        if weight.trainable {
            weight.grad = try dW.converted(to: .plain(weightDims)).reshaped(weight.shape)
        }
        if let bias, bias.trainable { bias.grad = dB }
    }

    /// dx = dy ⊛ᵀ W, in the forward's element types.
    private func backwardData(_ dy: Tensor, _ input: [Int], _ forward: Primitive, _ types: ConvTypes) throws -> Tensor {
        let primitive = try Engine.shared.primitive("conv_bwd_d|\(geometryKey(input))|\(types.key)") {
            var (src, weights, dst) = try descriptors(input, types)
            var op = dnnl_convolution_desc_t()
            let (s, d, pl, pr) = spatialArguments
            try check(dnnl_dilated_convolution_backward_data_desc_init(&op, dnnl_convolution_direct, &src, &weights,
                                                                       &dst, s, d, pl, pr),
                      "convolution_backward_data_desc_init")
            return try Primitive("conv backward data", op: &op, hint: forward)
        }
        let w = try pack(weight.value, version: weight.version, as: primitive.md(dnnl_query_weights_md), tag: "w")
        let gradient = try dy.converted(to: primitive.md(dnnl_query_diff_dst_md))
        let dx = try Tensor(md: primitive.md(dnnl_query_diff_src_md))
        try primitive.execute([(CDNNL_ARG_DIFF_DST, gradient), (CDNNL_ARG_WEIGHTS, w), (CDNNL_ARG_DIFF_SRC, dx)])
        return dx
    }

    /// `plain` (in torchvision layout) converted to `target`, cached until `version` changes.
    func pack(_ plain: Tensor, version: Int, as target: MemoryDesc, tag: String) throws -> Tensor {
        let key = tag + "|" + target.key
        if let hit = packed[key], hit.version == version { return hit.tensor }
        let source = try plain.reshaped(weightDims)
        let tensor = try Tensor(md: target)
        try reorder(from: source, to: tensor)
        packed[key] = (version, tensor)
        return tensor
    }
}

/// What a convolution's forward primitive is built from, besides the layer's own geometry.
struct ForwardQuery: Hashable {
    let input: [Int]
    let training: Bool
    let hasBias: Bool
    let fusion: Fusion
    let types: ConvTypes
}
