import CDNNL

/// Max or average pooling over a window, in the input's element type. Average pooling counts padded zeros by default, as
/// PyTorch's `AvgPool2d` does; Keras's "same" pooling excludes them.
public final class Pool2D: Layer {
    public enum Kind: Sendable, Equatable {
        case max
        case average(countIncludesPadding: Bool)

        var algorithm: dnnl_alg_kind_t {
            switch self {
            case .max: return dnnl_pooling_max
            case .average(let include): return include ? dnnl_pooling_avg_include_padding : dnnl_pooling_avg_exclude_padding
            }
        }
    }

    public let kind: Kind
    public let kernel: [Int]
    public let stride: [Int]
    public let paddingLow: [Int]
    public let paddingHigh: [Int]
    private var saved: (inputShape: [Int], workspace: Tensor?, forward: Primitive)?

    public init(_ kind: Kind, kernel: [Int], stride: [Int], paddingLow: [Int] = [0, 0], paddingHigh: [Int] = [0, 0]) throws {
        guard [kernel, stride, paddingLow, paddingHigh].allSatisfy({ $0.count == 2 }),
              (kernel + stride).allSatisfy({ $0 > 0 }), (paddingLow + paddingHigh).allSatisfy({ $0 >= 0 }) else {
            throw NeuralNetError.invalidArgument("Pool2D needs 2 positive kernel/stride values and non-negative padding")
        }
        guard zip(paddingLow + paddingHigh, kernel + kernel).allSatisfy({ $0 < $1 }) else {
            throw NeuralNetError.invalidArgument("Pool2D padding \(paddingLow)/\(paddingHigh) must be smaller than the kernel \(kernel)")
        }
        self.kind = kind
        self.kernel = kernel
        self.stride = stride
        self.paddingLow = paddingLow
        self.paddingHigh = paddingHigh
    }

    public convenience init(_ kind: Kind, kernel: Int, stride: Int, padding: Int = 0) throws {
        try self.init(kind, kernel: [kernel, kernel], stride: [stride, stride],
                      paddingLow: [padding, padding], paddingHigh: [padding, padding])
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { [] }

    public func outputShape(for input: [Int]) throws -> [Int] {
        guard input.count == 4 else { throw NeuralNetError.invalidShape("Pool2D expects [N, C, H, W], got \(input)") }
        let spatial = (0..<2).map { (i: Int) -> Int in
            let padded: Int = input[2 + i] + paddingLow[i] + paddingHigh[i]
            return (padded - kernel[i]) / stride[i] + 1
        }
        guard spatial.allSatisfy({ $0 > 0 }) else {
            throw NeuralNetError.invalidShape("Pool2D kernel \(kernel) does not fit input \(input)")
        }
        return Array(input.prefix(2)) + spatial
    }

    private func key(_ input: [Int]) -> String {
        "\(input)|\(kind)|k\(kernel)|s\(stride)|p\(paddingLow)\(paddingHigh)"
    }

    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        let output = try outputShape(for: x.shape)
        let prop = mode == .training ? dnnl_forward_training : dnnl_forward_inference
        let primitive = try Engine.shared.primitive("pool_fwd|\(key(x.shape))|\(x.md.key)|\(prop.rawValue)") {
            var op = dnnl_pooling_desc_t()
            var src = x.md
            var dst = try MemoryDesc.any(output, x.dataType)
            try check(dnnl_pooling_forward_desc_init(&op, prop, kind.algorithm, &src, &dst, dnnlDims(stride),
                                                     dnnlDims(kernel), dnnlDims(paddingLow), dnnlDims(paddingHigh)),
                      "pooling_forward_desc_init(\(key(x.shape)))")
            return try Primitive("pooling forward", op: &op)
        }
        let y = try Tensor(md: primitive.md(dnnl_query_dst_md))
        var args = [(CDNNL_ARG_SRC, x), (CDNNL_ARG_DST, y)]
        let workspaceMD = primitive.md(dnnl_query_workspace_md)
        let workspace = workspaceMD.ndims > 0 ? try Tensor(md: workspaceMD) : nil
        if let workspace { args.append((CDNNL_ARG_WORKSPACE, workspace)) }
        try primitive.execute(args)
        saved = mode == .training ? (x.shape, workspace, primitive) : nil
        // The output keeps the input's element type, so an int8 or bf16 network pools in it;
        // max and average keep the quantization scale.
        y.scale = x.scale
        return y
    }

    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let s = try NeuralNet.saved(saved, "Pool2D")
        saved = nil
        guard needsInputGradient else { return nil }
        let primitive = try Engine.shared.primitive("pool_bwd|\(key(s.inputShape))|\(s.forward.md(dnnl_query_dst_md).key)") {
            var op = dnnl_pooling_desc_t()
            var diffSrc = try MemoryDesc.any(s.inputShape, s.forward.md(dnnl_query_src_md).data_type)
            var diffDst = s.forward.md(dnnl_query_dst_md)
            try check(dnnl_pooling_backward_desc_init(&op, kind.algorithm, &diffSrc, &diffDst, dnnlDims(stride),
                                                      dnnlDims(kernel), dnnlDims(paddingLow), dnnlDims(paddingHigh)),
                      "pooling_backward_desc_init")
            return try Primitive("pooling backward", op: &op, hint: s.forward)
        }
        let gradient = try dy.converted(to: primitive.md(dnnl_query_diff_dst_md))
        let dx = try Tensor(md: primitive.md(dnnl_query_diff_src_md))
        var args = [(CDNNL_ARG_DIFF_DST, gradient), (CDNNL_ARG_DIFF_SRC, dx)]
        if let workspace = s.workspace { args.append((CDNNL_ARG_WORKSPACE, workspace)) }
        try primitive.execute(args)
        return dx
    }
}

/// Average or maximum over all spatial positions: `[N, C, H, W]` → `[N, C]`, the bridge from
/// a backbone's feature map to the classifier head (Keras's `GlobalAveragePooling2D` and
/// `GlobalMaxPooling2D`).
public final class GlobalPool: Layer {
    public enum Kind: String, Sendable, Codable { case average, max }

    public let kind: Kind
    private var pool: Pool2D?

    public init(_ kind: Kind = .average) { self.kind = kind }

    public var namedParameters: [(name: String, parameter: Parameter)] { [] }

    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        try requireRank(x, 4, "GlobalPool")
        let window = [x.shape[2], x.shape[3]]
        if pool?.kernel != window {
            pool = try Pool2D(kind == .max ? .max : .average(countIncludesPadding: true), kernel: window, stride: window)
        }
        let pooled = try pool!.forward(x, mode: mode)
        return try pooled.reshaped([x.shape[0], x.shape[1]])
    }

    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let pool = try saved(pool, "GlobalPool")
        guard dy.shape.count == 2 else { throw NeuralNetError.invalidShape("GlobalPool gradient must be [N, C], got \(dy.shape)") }
        return try pool.backward(dy.reshaped(dy.shape + [1, 1]), needsInputGradient: needsInputGradient)
    }
}
