extension InceptionV3Config {
    /// Every weight-holding layer of `keras.applications.InceptionV3` with our names for its
    /// weight arrays, in Keras's order for each array (`kernel`; `beta`, `moving_mean`,
    /// `moving_variance`; Dense `kernel`, `bias`).
    ///
    /// Keras names these layers by creation order, `conv2d`, `conv2d_1`, … and
    /// `batch_normalization`, `batch_normalization_1`, … (Keras 3 in a fresh session; Keras 2
    /// files start at `_1`), and `conv2d_bn` creates them in the order our units are listed,
    /// branch by branch, so the k-th unit is `conv2d_k`. The list follows that creation order,
    /// not `model.layers` (which Keras sorts by graph depth). `head` is the classifier's
    /// name, Keras's `predictions`.
    public func kerasLayers(head: String = "fc") -> [KerasLayer] {
        unitPaths.enumerated().flatMap { index, path -> [KerasLayer] in
            let suffix = index == 0 ? "" : "_\(index)"
            return [.conv("conv2d" + suffix, path + ".conv", bias: false),
                    .batchNorm("batch_normalization" + suffix, path + ".bn", scale: false)]
        } + [.dense("predictions", head)]
    }

    /// Dotted module paths of every convolution unit, in network order.
    var unitPaths: [String] {
        modules.flatMap { module -> [String] in
            switch module {
            case .conv(let unit): return [unit.name]
            case .maxPool: return []
            case .mixed(let name, let branches):
                return branches.flatMap { $0 }.flatMap { step -> [String] in
                    switch step {
                    case .conv(let unit): return ["\(name).\(unit.name)"]
                    case .fork(let units): return units.map { "\(name).\($0.name)" }
                    case .averagePool, .maxPool: return []
                    }
                }
            }
        }
    }
}
