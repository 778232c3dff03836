extension ResNetV2Config {
    /// Keras `ResNet50V2`'s weight layers onto ours, in Keras's order: `conv1_conv` → stem;
    /// per block `conv{s}_block{b}_`: `preact_bn` → `norm1`, `1_conv`/`1_bn` → `conv1`/`norm2`,
    /// `2_conv`/`2_bn` → `conv2`/`norm3`, `0_conv` → `downsample.conv`, `3_conv` → `conv3`;
    /// `post_bn` → `norm`; `predictions` → `head` (a `.linear` head).
    public func kerasLayers(head: String = "head.fc") -> [KerasLayer] {
        var layers: [KerasLayer] = [.conv("conv1_conv", "stem.conv", bias: true)]
        for (index, count) in blocks.enumerated() {
            for block in 0..<count {
                let keras = "conv\(index + 2)_block\(block + 1)_", ours = "stages.\(index).blocks.\(block)."
                layers += [.batchNorm(keras + "preact_bn", ours + "norm1"),
                           .conv(keras + "1_conv", ours + "conv1", bias: false), .batchNorm(keras + "1_bn", ours + "norm2"),
                           .conv(keras + "2_conv", ours + "conv2", bias: false), .batchNorm(keras + "2_bn", ours + "norm3")]
                if block == 0 { layers.append(.conv(keras + "0_conv", ours + "downsample.conv", bias: true)) }
                layers.append(.conv(keras + "3_conv", ours + "conv3", bias: true))
            }
        }
        return layers + [.batchNorm("post_bn", "norm"), .dense("predictions", head)]
    }
}
