import NeuralNet

/// One Xception block (Chollet 2017): ReLU → separable conv → BN, repeated, then a 3×3
/// stride-2 "same" max pool when the block downsamples, plus the shortcut, identity or
/// 1×1 strided conv + BN when the shape changes (Keras's unnamed `conv2d_k` /
/// `batch_normalization_k`). Names follow timm's `legacy_xception` (`rep.N`, `skip`, `skipbn`),
/// whose `rep` Sequential indexes ReLU, separable conv and BN as separate modules.
package final class XceptionBlock: Layer {
    package let rep: Sequential
    package let skip: ConvBN?

    init(_ spec: XceptionConfig.Block, inChannels: Int, epsilon: Float, momentum: Float) throws {
        var layers: [(String, any Layer)] = []
        func add(_ name: String, _ layer: any Layer) { layers.append((name, layer)) }
        var index = 0
        for unit in 0..<spec.repeats {
            let (input, output) = spec.growFirst
                ? (unit == 0 ? inChannels : spec.channels, spec.channels)
                : (inChannels, unit < spec.repeats - 1 ? inChannels : spec.channels)
            if unit > 0 || spec.startsWithReLU {
                add("\(index)", Activation(.relu))
                index += 1
            }
            // The separable conv is module `index`, its BatchNorm `index + 1`.
            add("", try SeparableConvBN(input, output, epsilon: epsilon, momentum: momentum, activation: nil,
                                        names: ("\(index)", "\(index + 1)")))
            index += 2
        }
        if spec.stride != 1 { add("\(index)", SameMaxPool(kernel: 3, stride: spec.stride)) }
        rep = Sequential(layers)
        skip = spec.stride != 1 || inChannels != spec.channels
            ? try ConvBN(Conv2D(inChannels, spec.channels, kernel: 1, stride: spec.stride),
                         BatchNorm(spec.channels, epsilon: epsilon, momentum: momentum), activation: nil,
                         names: ("skip", "skipbn"))
            : nil
    }

    package var namedParameters: [(name: String, parameter: Parameter)] {
        rep.namedParameters.map { ("rep." + $0.name, $0.parameter) } + (skip?.namedParameters ?? [])
    }

    package func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        let residual = try rep.forward(x, mode: mode)
        return try Add.forward(residual, skip?.forward(x, mode: mode) ?? x)
    }

    package func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let dRep = try rep.backward(dy, needsInputGradient: needsInputGradient)
        let dSkip = try skip.map { try $0.backward(dy, needsInputGradient: needsInputGradient) } ?? dy
        guard needsInputGradient, let dRep, let dSkip else { return nil }
        return try Add.forward(dRep, dSkip)
    }
}
