import CDNNL

/// Element types of a convolution's source, weights and destination (the bias stays f32).
struct ConvTypes: Sendable, Hashable {
    var src: dnnl_data_type_t
    var weights: dnnl_data_type_t
    var dst: dnnl_data_type_t

    static let f32 = ConvTypes(src: dnnl_f32, weights: dnnl_f32, dst: dnnl_f32)
    static let bf16 = ConvTypes(src: dnnl_bf16, weights: dnnl_bf16, dst: dnnl_bf16)

    var key: String { "t\(src.rawValue).\(weights.rawValue).\(dst.rawValue)" }

    static func == (a: ConvTypes, b: ConvTypes) -> Bool {
        (a.src.rawValue, a.weights.rawValue, a.dst.rawValue) == (b.src.rawValue, b.weights.rawValue, b.dst.rawValue)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(src.rawValue)
        hasher.combine(weights.rawValue)
        hasher.combine(dst.rawValue)
    }

    /// The primitive's name: `conv forward`, or with its source type (`conv forward u8`), so
    /// `Engine.implementationsByOperation` tells which kernels each precision got.
    var primitiveName: String {
        src == dnnl_f32 ? "conv forward" : "conv forward " + String(cString: dnnl_dt2str(src))
    }
}

/// What an int8 `ConvBN` runs with: BatchNorm folded into the convolution, the folded weights
/// quantized per output channel to s8 (symmetric, w ≈ q·weightScales[o]), the folded bias in
/// real units, and the scale of the activation it writes, chosen by calibration.
///
/// The input's scale is the one its producer wrote (`Tensor.scale`); only the first quantized
/// layer, which receives FP32 data, quantizes its input itself, to s8 with `inputScale`.
public final class ConvQuantization {
    /// The destination's element type: u8 after a ReLU (all values ≥ 0), s8 where values
    /// can be negative (a projection shortcut), f32 for the last quantized layer, whose
    /// consumer (pooling and the FP32 head) wants real numbers.
    public enum Output: String, Codable, Sendable, CaseIterable {
        case u8, s8, f32

        var dataType: dnnl_data_type_t {
            switch self {
            case .u8: return dnnl_u8
            case .s8: return dnnl_s8
            case .f32: return dnnl_f32
            }
        }

        /// The largest stored magnitude: a calibrated maximum maps onto it.
        public var levels: Float { self == .u8 ? 255 : 127 }
    }

    public let weights: [Int8]
    public let weightScales: [Float]
    public let bias: [Float]
    public let inputScale: Float?
    public let output: Output
    /// The real value of one step of the output; 1 for an f32 output.
    public let outputScale: Float

    /// The weights and scales the arithmetic amounts to on this CPU: `weights` and
    /// `weightScales` where it has VNNI; elsewhere (AVX2, AVX-512 without VNNI) oneDNN
    /// multiplies u8 by s8 with vpmaddubsw, whose 16-bit sums of two products saturate
    /// (2·255·127 > 32767), so the weights run halved to 7 bits with doubled scales, as oneDNN
    /// advises: one bit of weight precision for results that are right.
    public private(set) lazy var kernelForm: (weights: [Int8], scales: [Float]) =
        Self.kernelForm(weights, weightScales, vnni: CPUISA.effective.hasVNNI)

    /// What oneDNN is given for a source of `type`: for s8 sources it halves the weights itself
    /// where it must (its weight layout then carries a 0.5 scale adjustment), so they are given
    /// as stored; for u8 sources they are given in `kernelForm`.
    func given(for type: dnnl_data_type_t) -> (weights: [Int8], scales: [Float]) {
        type == dnnl_s8 ? (weights, weightScales) : kernelForm
    }

    private var plainWeights: [UInt32: Tensor] = [:]
    private var biasCache: (inputScale: Float, type: UInt32, tensor: Tensor)?

    /// Checks counts and scales against the layer they are for, so a bad file fails here
    /// with the layer's name rather than inside oneDNN.
    public init(weights: [Int8], weightScales: [Float], bias: [Float], inputScale: Float?, output: Output,
                outputScale: Float, for conv: Conv2D, name: String) throws {
        func fail(_ message: String) -> NeuralNetError { .invalidArgument("int8 \(name): \(message)") }
        guard weights.count == conv.weight.count else { throw fail("\(weights.count) weights for a \(conv.weight.shape) convolution") }
        guard weightScales.count == conv.outChannels, bias.count == conv.outChannels else {
            throw fail("\(weightScales.count) weight scales and \(bias.count) biases for \(conv.outChannels) output channels")
        }
        let scales = weightScales + [outputScale] + (inputScale.map { [$0] } ?? [])
        guard scales.allSatisfy({ $0.isFinite && $0 > 0 }), bias.allSatisfy(\.isFinite) else {
            throw fail("scales must be finite and positive and biases finite")
        }
        guard output != .f32 || outputScale == 1 else { throw fail("an f32 output has scale 1, got \(outputScale)") }
        self.weights = weights
        self.weightScales = weightScales
        self.bias = bias
        self.inputScale = inputScale
        self.output = output
        self.outputScale = outputScale
    }

    /// Symmetric per-output-channel quantization: scale[o] = max|w[o]| / 127 (1 for an
    /// all-zero channel), q = round(w / scale[o]).
    public static func quantizeWeights(_ folded: [Float], outChannels: Int) -> (weights: [Int8], scales: [Float]) {
        let perOutput = folded.count / outChannels
        var weights = [Int8](repeating: 0, count: folded.count)
        var scales = [Float](repeating: 1, count: outChannels)
        for o in 0..<outChannels {
            let channel = folded[(o * perOutput)..<((o + 1) * perOutput)]
            let largest = channel.reduce(0) { max($0, abs($1)) }
            if largest > 0 { scales[o] = largest / 127 }
            for i in channel.indices { weights[i] = Int8(clamping: Int((folded[i] / scales[o]).rounded())) }
        }
        return (weights, scales)
    }

    static func kernelForm(_ weights: [Int8], _ scales: [Float], vnni: Bool) -> (weights: [Int8], scales: [Float]) {
        guard !vnni else { return (weights, scales) }
        return (weights.map { Int8((Float($0) / 2).rounded(.toNearestOrEven)) }, scales.map { $0 * 2 })
    }

    /// The s8 weights given for a source of `type`, as a plain tensor in oneDNN's convolution
    /// weight dimensions.
    func plainWeights(dims: [Int], source type: dnnl_data_type_t) throws -> Tensor {
        if let cached = plainWeights[type.rawValue] { return cached }
        let tensor = try Tensor(md: .plain(dims, dnnl_s8))
        given(for: type).weights.withUnsafeBytes { tensor.rawPointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        plainWeights[type.rawValue] = tensor
        return tensor
    }

    /// oneDNN adds the bias to the s32 accumulator before the output scales, so it is given
    /// in accumulator steps: bias[o] / (inputScale · weight scale[o]).
    func accumulatorBias(inputScale: Float, source type: dnnl_data_type_t) throws -> Tensor {
        if let biasCache, biasCache.inputScale == inputScale, biasCache.type == type.rawValue { return biasCache.tensor }
        let scales = given(for: type).scales
        let tensor = try Tensor(shape: [bias.count], values: zip(bias, scales).map { $0 / (inputScale * $1) })
        biasCache = (inputScale, type.rawValue, tensor)
        return tensor
    }
}

extension Conv2D {
    /// Inference with u8/s8 activations and s8 weights: Σ q_src·q_w accumulates in s32, then
    /// dst = scale[o]·(acc + bias'[o]) (+ the residual, rescaled) → activation, rounded and
    /// saturated into the output type, with scale[o] = s_in·s_w[o] / s_out.
    func forwardQuantized(_ x: Tensor, _ q: ConvQuantization, activation: Activation.Kind?,
                          into residual: Tensor?, name: String) throws -> Tensor {
        let incoming: (type: dnnl_data_type_t, scale: Float)
        if let scale = x.scale {
            incoming = (x.dataType, scale)
        } else if let scale = q.inputScale {
            incoming = (dnnl_s8, scale)
        } else {
            throw NeuralNetError.invalidArgument("int8 \(name) received \(x.layout) input but was calibrated for a quantized one")
        }
        var fusion = Fusion(accumulate: residual != nil, activation: activation,
                            outputScales: q.given(for: incoming.type).scales.map { incoming.scale * $0 / q.outputScale })
        if let residual, q.output != .f32 {
            guard let residualScale = residual.scale else {
                throw NeuralNetError.invalidArgument("int8 \(name) adds a \(residual.layout) residual to its \(q.output) output; it must be quantized")
            }
            fusion.sumScale = residualScale / q.outputScale
            if residual.dataType != q.output.dataType { fusion.sumType = residual.dataType }
        }
        let types = ConvTypes(src: incoming.type, weights: dnnl_s8, dst: q.output.dataType)
        let primitive = try forwardPrimitive(x.shape, training: false, hasBias: true, fusion: fusion, types: types)
        let srcMD = primitive.md(dnnl_query_src_md)
        let src = x.scale == nil ? try x.quantized(to: srcMD, scale: incoming.scale) : try x.converted(to: srcMD)
        let w = try pack(q.plainWeights(dims: weightDims, source: incoming.type), version: ObjectIdentifier(q).hashValue,
                         as: primitive.md(dnnl_query_weights_md), tag: "s8|\(incoming.type.rawValue)")
        let dstMD = primitive.md(dnnl_query_dst_md)
        let dst: Tensor
        if let residual {
            // The sum post-op reads the residual from the destination's buffer, in its layout.
            let laidOut = try residual.converted(to: q.output == .f32 ? dstMD : dstMD.retyped(residual.dataType))
            dst = laidOut.dataType == dstMD.data_type ? laidOut : try laidOut.reinterpreted(as: dstMD)
        } else {
            dst = try Tensor(md: dstMD)
        }
        try primitive.execute([(CDNNL_ARG_SRC, src), (CDNNL_ARG_WEIGHTS, w),
                               (CDNNL_ARG_BIAS, q.accumulatorBias(inputScale: incoming.scale, source: incoming.type)),
                               (CDNNL_ARG_DST, dst)])
        dst.scale = q.output == .f32 ? nil : q.outputScale
        return dst
    }
}
