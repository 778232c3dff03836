import CDNNL

/// Elementwise activations as one eltwise layer; the same kinds are fused into convolutions as
/// post-ops for inference. The backbones use ReLU and ReLU6; the others are there for the
/// heads Keras users build (`Dense(256, activation="gelu")`), each with Keras's definition.
public final class Activation: Layer {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case relu
        /// min(max(x, 0), 6): MobileNet/EfficientNet-Lite's activation.
        case relu6
        /// 1 / (1 + e^−x).
        case sigmoid
        case tanh
        /// x for x > 0, e^x − 1 otherwise (α = 1, Keras's default).
        case elu
        /// x · Φ(x) with the exact normal CDF (Keras's `gelu`, `approximate=False`).
        case gelu
        /// x · sigmoid(x), Keras's `swish` / `silu`.
        case swish

        var algorithm: (kind: dnnl_alg_kind_t, alpha: Float, beta: Float) {
            switch self {
            case .relu: return (dnnl_eltwise_relu, 0, 0)
            case .relu6: return (dnnl_eltwise_clip, 0, 6)
            case .sigmoid: return (dnnl_eltwise_logistic, 0, 0)
            case .tanh: return (dnnl_eltwise_tanh, 0, 0)
            case .elu: return (dnnl_eltwise_elu, 1, 0)
            case .gelu: return (dnnl_eltwise_gelu_erf, 0, 0)
            case .swish: return (dnnl_eltwise_swish, 1, 0)
            }
        }
    }

    public let kind: Kind
    private var savedInput: Tensor?
    private var savedForward: Primitive?

    public init(_ kind: Kind = .relu) { self.kind = kind }

    public var namedParameters: [(name: String, parameter: Parameter)] { [] }

    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        let alg = kind.algorithm
        let prop = mode == .training ? dnnl_forward_training : dnnl_forward_inference
        let primitive = try Engine.shared.primitive("eltwise_fwd|\(kind)|\(prop.rawValue)|\(x.md.key)") {
            var op = dnnl_eltwise_desc_t()
            var md = x.md
            try check(dnnl_eltwise_forward_desc_init(&op, prop, alg.kind, &md, alg.alpha, alg.beta), "eltwise_forward_desc_init")
            return try Primitive("\(kind) forward", op: &op)
        }
        let y = try Tensor(md: primitive.md(dnnl_query_dst_md))
        try primitive.execute([(CDNNL_ARG_SRC, x), (CDNNL_ARG_DST, y)])
        (savedInput, savedForward) = mode == .training ? (x, primitive) : (nil, nil)
        return y
    }

    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let x = try saved(savedInput, "\(kind)")
        let forward = try saved(savedForward, "\(kind)")
        (savedInput, savedForward) = (nil, nil)
        guard needsInputGradient else { return nil }
        let alg = kind.algorithm
        let primitive = try Engine.shared.primitive("eltwise_bwd|\(kind)|\(x.md.key)") {
            var op = dnnl_eltwise_desc_t()
            var md = x.md
            try check(dnnl_eltwise_backward_desc_init(&op, alg.kind, &md, &md, alg.alpha, alg.beta), "eltwise_backward_desc_init")
            return try Primitive("\(kind) backward", op: &op, hint: forward)
        }
        let gradient = try dy.converted(to: x.md)
        let dx = try Tensor(md: primitive.md(dnnl_query_diff_src_md))
        try primitive.execute([(CDNNL_ARG_SRC, x), (CDNNL_ARG_DIFF_DST, gradient), (CDNNL_ARG_DIFF_SRC, dx)])
        return dx
    }
}
