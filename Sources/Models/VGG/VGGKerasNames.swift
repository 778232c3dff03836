extension VGGConfig {
    /// Keras `VGG19`'s weight layers onto ours: `block{b}_conv{k}` → `features.N`, and with
    /// the top `fc1` → `classifier.0` (rows permuted: Keras flattens H, W, C), `fc2` →
    /// `classifier.3`, `predictions` → `head` (`classifier.6` for a `.linear` head).
    public func kerasLayers(head: String = "classifier.6") -> [KerasLayer] {
        var layers: [KerasLayer] = []
        for (block, indices) in convolutionIndices.enumerated() {
            for (k, index) in indices.enumerated() {
                layers.append(.conv("block\(block + 1)_conv\(k + 1)", "features.\(index)", bias: true))
            }
        }
        guard includeTop else { return layers }
        let grid = Self.topGrid, channels = width(ofBlock: convolutions.count - 1)
        return layers + [
            .dense("fc1", "classifier.0", layout: .flattenedDenseKernel(height: grid, width: grid, channels: channels)),
            .dense("fc2", "classifier.3"),
            .dense("predictions", head),
        ]
    }
}
