/// Gradient clipping by global norm, as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
    /// Scales the gradients of all trainable parameters together so that their combined L2 norm
    /// is at most `maxNorm` (by maxNorm / (norm + 1e-6), PyTorch's coefficient), and returns the
    /// norm before clipping. The norm is summed in double precision so millions of squares do
    /// not lose the small ones. A non-finite norm is returned as is and the gradients are then
    /// scaled by NaN, as PyTorch does: callers that want to skip such a step check the result.
    ///
    /// Frozen weights and buffers are left out even if they hold a stale gradient, matching
    /// what the optimizers update.
    @discardableResult
    public static func clipNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
        let clipped = parameters.compactMap { p in p.trainable ? p.grad.map { ($0.pointer, p.count) } : nil }
        var sumOfSquares = 0.0
        for (g, n) in clipped {
            for i in 0..<n { sumOfSquares += Double(g[i]) * Double(g[i]) }
        }
        let norm = Float(sumOfSquares.squareRoot())
        let coefficient = maxNorm / (norm + 1e-6)
        if !(coefficient >= 1) {
            for (g, n) in clipped {
                for i in 0..<n { g[i] *= coefficient }
            }
        }
        return norm
    }
}
