extension DenseNetConfig {
    /// Keras `DenseNet121`'s weight layers onto ours, in Keras's order: `conv1_conv`/`conv1_bn`
    /// → `features.conv0`/`norm0` (Keras 2 spelled these `conv1/conv`, `conv1/bn`);
    /// `conv{b+2}_block{l}_0_bn`, `_1_conv`, `_1_bn`, `_2_conv` → `denseblock{b+1}.denselayer{l}`'s
    /// `norm1`, `conv1`, `norm2`, `conv2`; `pool{b+2}_bn`/`_conv` → `transition{b+1}`'s `norm`/
    /// `conv`; `bn` → `norm5`; `predictions` → `head` (a `.linear` head).
    public func kerasLayers(head: String = "classifier") -> [KerasLayer] {
        var layers: [KerasLayer] = [.conv("conv1_conv", "features.conv0", bias: false),
                                    .batchNorm("conv1_bn", "features.norm0")]
        for (index, count) in blocks.enumerated() {
            for layer in 1...count {
                let keras = "conv\(index + 2)_block\(layer)_", ours = "features.denseblock\(index + 1).denselayer\(layer)."
                layers += [.batchNorm(keras + "0_bn", ours + "norm1"), .conv(keras + "1_conv", ours + "conv1", bias: false),
                           .batchNorm(keras + "1_bn", ours + "norm2"), .conv(keras + "2_conv", ours + "conv2", bias: false)]
            }
            if index < blocks.count - 1 {
                let ours = "features.transition\(index + 1)."
                layers += [.batchNorm("pool\(index + 2)_bn", ours + "norm"), .conv("pool\(index + 2)_conv", ours + "conv", bias: false)]
            }
        }
        return layers + [.batchNorm("bn", "features.norm5"), .dense("predictions", head)]
    }
}
