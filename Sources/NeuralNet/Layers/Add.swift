import CDNNL

/// Elementwise sum of two tensors of the same shape: the residual connection, and also where
/// two gradient paths meet in a backward pass.
public enum Add {
    /// `a + b`, in `a`'s layout.
    public static func forward(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.shape == b.shape else {
            throw NeuralNetError.invalidShape("Add needs equal shapes, got \(a.shape) and \(b.shape)")
        }
        let primitive = try Engine.shared.primitive("sum2|\(a.md.key)") {
            var pd: dnnl_primitive_desc_t?
            var dst = a.md
            var sources = [a.md, a.md]
            let scales: [Float] = [1, 1]
            try check(dnnl_sum_primitive_desc_create(&pd, &dst, 2, scales, &sources, nil, Engine.shared.engine),
                      "sum_primitive_desc_create")
            return try Primitive("add", descriptor: pd!)
        }
        let y = try Tensor(md: a.md)
        try primitive.execute([(CDNNL_ARG_MULTIPLE_SRC, a), (CDNNL_ARG_MULTIPLE_SRC + 1, b.converted(to: a.md)),
                               (CDNNL_ARG_DST, y)])
        return y
    }

    /// ∂(a + b)/∂a = ∂(a + b)/∂b = 1: both inputs receive the output gradient unchanged.
    public static func backward(_ dy: Tensor) -> (Tensor, Tensor) { (dy, dy) }
}
