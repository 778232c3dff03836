import CDNNL

/// Post-ops fused into an inference convolution: optionally add the destination's previous
/// contents (a residual connection), then optionally an activation. For int8 convolutions it
/// also carries the per-output-channel scales that turn the s32 accumulator (plus bias) into
/// the destination's units, and the residual's scale and type relative to the destination.
struct Fusion: Sendable, Hashable {
    var accumulate = false
    var activation: Activation.Kind?
    /// dst = outputScales[o] · (Σ src·weights + bias[o]); nil for floating convolutions.
    var outputScales: [Float]?
    /// The residual's step in destination steps (its scale over the destination's).
    var sumScale: Float = 1
    /// The residual's element type where it differs from the destination's (s8 under u8).
    var sumType = dnnl_data_type_undef

    static let none = Fusion()

    /// Scales compare and hash by their bits, as `key` spells them.
    static func == (a: Fusion, b: Fusion) -> Bool {
        guard a.accumulate == b.accumulate, a.activation == b.activation, a.sumScale.bitPattern == b.sumScale.bitPattern,
              a.sumType.rawValue == b.sumType.rawValue, a.outputScales?.count == b.outputScales?.count else { return false }
        return zip(a.outputScales ?? [], b.outputScales ?? []).allSatisfy { $0.bitPattern == $1.bitPattern }
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(accumulate)
        hasher.combine(activation)
        hasher.combine(outputScales?.count)
        for scale in outputScales ?? [] { hasher.combine(scale.bitPattern) }
        hasher.combine(sumScale.bitPattern)
        hasher.combine(sumType.rawValue)
    }

    var key: String {
        let scales = outputScales.map { $0.map { String($0.bitPattern, radix: 16) }.joined(separator: ",") } ?? "-"
        return "sum\(accumulate)|\(activation?.rawValue ?? "-")|q\(scales)|\(sumScale.bitPattern)|\(sumType.rawValue)"
    }

    /// The primitive attributes, or nil when nothing is fused. The caller destroys them.
    func attributes() throws -> dnnl_primitive_attr_t? {
        guard accumulate || activation != nil || outputScales != nil else { return nil }
        var postOps: dnnl_post_ops_t?
        try check(dnnl_post_ops_create(&postOps), "post_ops_create")
        defer { dnnl_post_ops_destroy(postOps) }
        if accumulate { try check(dnnl_post_ops_append_sum_v2(postOps, sumScale, sumType), "post_ops_append_sum") }
        if let activation {
            let alg = activation.algorithm
            try check(dnnl_post_ops_append_eltwise(postOps, 1, alg.kind, alg.alpha, alg.beta), "post_ops_append_eltwise")
        }
        var attr: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attr), "primitive_attr_create")
        try check(dnnl_primitive_attr_set_post_ops(attr, postOps), "primitive_attr_set_post_ops")
        if let outputScales {
            // Mask 1 << 1: one scale per index of the destination's dimension 1, the channels.
            try check(dnnl_primitive_attr_set_output_scales(attr, dnnl_dim_t(outputScales.count), 1 << 1, outputScales),
                      "primitive_attr_set_output_scales(\(outputScales.count) channels)")
        }
        return attr
    }
}
