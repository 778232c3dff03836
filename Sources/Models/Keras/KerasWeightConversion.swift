extension KerasWeightLayout {
    /// Our values for a Keras array of shape `keras` (already checked against
    /// `kerasShape(for:)`): a transpose for kernels, the flatten permutation for VGG's fc1, a
    /// copy for vectors. Exact: values are moved, never computed.
    public func ourValues(fromKeras values: [Float], shape keras: [Int]) -> [Float] {
        var ours = [Float](repeating: 0, count: values.count)
        switch self {
        case .vector:
            return values
        case .convKernel:
            // Keras (kh, kw, in, out) → ours [out, in, kh, kw].
            let (kh, kw, inputs, outputs) = (keras[0], keras[1], keras[2], keras[3])
            for h in 0..<kh { for w in 0..<kw { for i in 0..<inputs { for o in 0..<outputs {
                ours[((o * inputs + i) * kh + h) * kw + w] = values[((h * kw + w) * inputs + i) * outputs + o]
            } } } }
        case .depthwiseKernel:
            // Keras (kh, kw, channels, multiplier) → ours [channels·multiplier, 1, kh, kw].
            let (kh, kw, channels, multiplier) = (keras[0], keras[1], keras[2], keras[3])
            for h in 0..<kh { for w in 0..<kw { for c in 0..<channels { for m in 0..<multiplier {
                ours[((c * multiplier + m) * kh + h) * kw + w] = values[((h * kw + w) * channels + c) * multiplier + m]
            } } } }
        case .denseKernel, .flattenedDenseKernel:
            // Keras (in, out) → ours [out, in], rows permuted after a flatten.
            let (inputs, outputs) = (keras[0], keras[1])
            for row in 0..<inputs {
                let column = ourInputIndex(forKerasRow: row)
                for o in 0..<outputs { ours[o * inputs + column] = values[row * outputs + o] }
            }
        }
        return ours
    }
}
