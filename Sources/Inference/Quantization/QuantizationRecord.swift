import NeuralNet

/// How calibration turns observed activations into a scale.
public enum Calibration: String, Codable, Sendable, CaseIterable {
    /// The largest magnitude seen over all calibration images.
    case minmax
    /// The mean over calibration batches of each batch's 99.99th percentile of magnitudes:
    /// a few outliers no longer stretch the scale for everyone else.
    case percentile
}

/// What an int8 model file's metadata says about its quantization: how it was calibrated and,
/// per quantized convolution (by state-dict prefix, `layer1.0.conv1`), the activation scales.
/// The s8 weights and their per-channel scales are tensors in the file
/// (`<conv>.weight` as I8, `<conv>.weight_scale`, the folded `<conv>.bias`).
public struct QuantizationRecord: Codable, Sendable, Equatable {
    public struct LayerScales: Codable, Sendable, Equatable {
        public var output: ConvQuantization.Output
        /// The real value of one output step (1 for an f32 output).
        public var outputScale: Float
        /// Only for the layer that receives FP32 input (the stem): its s8 input's step.
        public var inputScale: Float?

        public init(output: ConvQuantization.Output, outputScale: Float, inputScale: Float?) {
            self.output = output
            self.outputScale = outputScale
            self.inputScale = inputScale
        }
    }

    public var calibration: Calibration
    /// Calibration images and the split they came from.
    public var images: Int
    public var split: String
    public var layers: [String: LayerScales]

    public init(calibration: Calibration, images: Int, split: String, layers: [String: LayerScales]) {
        self.calibration = calibration
        self.images = images
        self.split = split
        self.layers = layers
    }
}
