import CDNNL

/// Post-ops fused into an inference convolution: optionally add the destination's previous
/// contents (a residual connection), then optionally an activation.
struct Fusion: Sendable {
    var accumulate = false
    var activation: Activation.Kind?

    static let none = Fusion()

    var key: String { "sum\(accumulate)|\(activation?.rawValue ?? "-")" }

    /// The primitive attributes, or nil when nothing is fused. The caller destroys them.
    func attributes() throws -> dnnl_primitive_attr_t? {
        guard accumulate || activation != nil else { return nil }
        var postOps: dnnl_post_ops_t?
        try check(dnnl_post_ops_create(&postOps), "post_ops_create")
        defer { dnnl_post_ops_destroy(postOps) }
        if accumulate { try check(dnnl_post_ops_append_sum(postOps, 1), "post_ops_append_sum") }
        if let activation {
            let alg = activation.algorithm
            try check(dnnl_post_ops_append_eltwise(postOps, 1, alg.kind, alg.alpha, alg.beta), "post_ops_append_eltwise")
        }
        var attr: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attr), "primitive_attr_create")
        try check(dnnl_primitive_attr_set_post_ops(attr, postOps), "primitive_attr_set_post_ops")
        return attr
    }
}
