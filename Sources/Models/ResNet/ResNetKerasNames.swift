extension ResNetConfig {
    /// Keras `ResNet50`'s weight layers onto ours, in Keras's creation order: `conv1_conv` /
    /// `conv1_bn` → `conv1` / `bn1`; per block `conv{s}_block{b}_`: `0_conv`/`0_bn` →
    /// `downsample.0`/`downsample.1` (first block of a stage), `1_`, `2_`, `3_` `conv`/`bn` →
    /// `conv1`…`conv3` / `bn1`…`bn3`; `predictions` → `head` (a `.linear` head). Every Keras
    /// convolution has a bias.
    public func kerasLayers(head: String = "fc") -> [KerasLayer] {
        var layers: [KerasLayer] = [.conv("conv1_conv", "conv1", bias: convolutionBias), .batchNorm("conv1_bn", "bn1")]
        for (index, count) in blocks.enumerated() {
            for block in 0..<count {
                let keras = "conv\(index + 2)_block\(block + 1)_", ours = "layer\(index + 1).\(block)."
                if block == 0 {
                    layers += [.conv(keras + "0_conv", ours + "downsample.0", bias: convolutionBias),
                               .batchNorm(keras + "0_bn", ours + "downsample.1")]
                }
                for unit in 1...3 {
                    layers += [.conv(keras + "\(unit)_conv", ours + "conv\(unit)", bias: convolutionBias),
                               .batchNorm(keras + "\(unit)_bn", ours + "bn\(unit)")]
                }
            }
        }
        return layers + [.dense("predictions", head)]
    }
}
