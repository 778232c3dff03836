import CDNNL

/// Elementwise sum of two tensors of the same shape: the residual connection, and also where
/// two gradient paths meet in a backward pass.
public enum Add {
    /// `a + b`, in `a`'s layout.
    public static func forward(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.shape == b.shape else {
            throw NeuralNetError.invalidShape("Add needs equal shapes, got \(a.shape) and \(b.shape)")
        }
        // A binary add rather than oneDNN's sum: in oneDNN 2.6 the sum of two f32 tensors is a
        // generic C++ loop that scales each source, the binary add a JIT kernel for the ISA.
        let primitive = try Engine.shared.primitive("add|\(a.md.key)") {
            var op = dnnl_binary_desc_t()
            var (first, second, dst) = (a.md, a.md, a.md)
            try check(dnnl_binary_desc_init(&op, dnnl_binary_add, &first, &second, &dst), "binary_desc_init(add)")
            return try Primitive("add", op: &op)
        }
        let y = try Tensor(md: a.md)
        try primitive.execute([(CDNNL_ARG_SRC, a), (CDNNL_ARG_SRC_1, b.converted(to: a.md)), (CDNNL_ARG_DST, y)])
        return y
    }

    /// ∂(a + b)/∂a = ∂(a + b)/∂b = 1: both inputs receive the output gradient unchanged.
    public static func backward(_ dy: Tensor) -> (Tensor, Tensor) { (dy, dy) }
}
