extension XceptionConfig {
    /// Every weight-holding layer of `keras.applications.Xception` with our names for its
    /// weight arrays, in Keras's order for each array (Conv2D `kernel`; SeparableConv2D
    /// `depthwise_kernel`, `pointwise_kernel`; BatchNorm `gamma`, `beta`, `moving_mean`,
    /// `moving_variance`; Dense `kernel`, `bias`), listed block by block.
    ///
    /// Keras names the stem `block1`, so timm's block k is Keras's block k + 1, and the exit
    /// units are `block14_sepconv1`/`_sepconv2`. The shortcut convolutions are unnamed in
    /// Keras: `conv2d`, `conv2d_1`, … and `batch_normalization`, … in creation order (Keras 3
    /// in a fresh session; Keras 2 files start at `_1`). `head` is Keras's `predictions`.
    public func kerasLayers(head: String = "fc") -> [KerasLayer] {
        var layers: [KerasLayer] = []
        for index in stem.indices {
            let keras = "block1_conv\(index + 1)"
            layers += [.conv(keras, "conv\(index + 1)", bias: false), .batchNorm(keras + "_bn", "bn\(index + 1)")]
        }
        var (shortcuts, channels) = (0, stem.last!)
        for (index, block) in blocks.enumerated() {
            let (ours, keras) = ("block\(index + 1)", "block\(index + 2)")
            defer { channels = block.channels }
            if block.stride != 1 || channels != block.channels {
                let suffix = shortcuts == 0 ? "" : "_\(shortcuts)"
                layers += [.conv("conv2d" + suffix, ours + ".skip", bias: false),
                           .batchNorm("batch_normalization" + suffix, ours + ".skipbn")]
                shortcuts += 1
            }
            for unit in 0..<block.repeats {
                let position = 3 * unit + (block.startsWithReLU ? 1 : 0)
                let sepconv = "\(keras)_sepconv\(unit + 1)", rep = "\(ours).rep.\(position)"
                layers += [.separableConv(sepconv, depthwise: rep + ".conv1", pointwise: rep + ".pointwise"),
                           .batchNorm(sepconv + "_bn", "\(ours).rep.\(position + 1)")]
            }
        }
        for index in exit.indices {
            let (number, keras) = (stem.count + index + 1, "block\(blocks.count + 2)_sepconv\(index + 1)")
            layers += [.separableConv(keras, depthwise: "conv\(number).conv1", pointwise: "conv\(number).pointwise"),
                       .batchNorm(keras + "_bn", "bn\(number)")]
        }
        return layers + [.dense("predictions", head)]
    }
}
