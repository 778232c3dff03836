import Foundation
import Models
import NeuralNet

/// Post-training static quantization of a classifier's backbone (`skinlesion quantize`).
///
/// Every `ConvBN` gets BatchNorm folded into its convolution, per-output-channel s8 weights,
/// and an output scale from the activations calibration images produce in FP32: u8 after a
/// ReLU, s8 where values can be negative (projection shortcuts), and f32 for the last one,
/// whose consumers (global pooling and the head) stay FP32, where a few thousand
/// multiplications cost nothing and rounding them would only lose accuracy.
public struct Quantizer {
    /// Architectures whose every backbone layer is a `ConvBN`, a max pool (which keeps the
    /// int8 type and scale) or a residual sum fused into a `ConvBN`. Others have layers
    /// (depthwise blocks with squeeze-excitation, pre-activation BatchNorm, concatenations)
    /// that would receive int8 tensors they are not written for, so they are refused by name.
    public static let supportedArchitectures = ["resnet50", "resnet50-keras"]

    public var calibration: Calibration
    /// The percentile of magnitudes `.percentile` keeps per batch.
    public var percentile: Double = 99.99

    public init(calibration: Calibration) { self.calibration = calibration }

    public static func requireSupported(_ architecture: String, file: String) throws {
        guard supportedArchitectures.contains(architecture) else {
            throw ModelFileError(file: file, message: "int8 quantization covers \(supportedArchitectures.joined(separator: ", ")); "
                                 + "\(architecture) has layers it does not quantize (use --precision fp32 or bf16)")
        }
    }

    /// The quantizable units of `modules` (by default the whole model) with their state-dict
    /// prefixes from `model`, in network order.
    static func units(of model: Classifier, in modules: [any Layer]? = nil) -> [(conv: String, bn: String, unit: ConvBN)] {
        let names = Dictionary(model.namedParameters.map { (ObjectIdentifier($0.parameter), $0.name) }, uniquingKeysWith: { a, _ in a })
        func prefix(_ p: Parameter, _ suffix: String) -> String {
            String(names[ObjectIdentifier(p)]!.dropLast(suffix.count + 1))
        }
        return (modules ?? [model]).flatMap(\.allLayers).compactMap { $0 as? ConvBN }.map {
            (prefix($0.conv.weight, "weight"), prefix($0.bn.bias, "bias"), $0)
        }
    }

    /// Calibrates on `batches` (FP32 inference of normalized images, until it returns nil),
    /// then quantizes `model` in place: afterwards `model.run(at: .int8)` runs it in int8, and
    /// its FP32 parameters are the dequantized ones (what an int8 file's FP32 layers hold).
    public func quantize(_ model: Classifier, split: String, log: (String) -> Void = { _ in },
                         batches next: () throws -> Tensor?) throws -> QuantizationRecord {
        try Self.requireSupported(model.architecture.name, file: "quantize")
        let record = try calibrate(model, modules: [model], split: split, log: log, batches: next)
        try Self.apply(record, to: model, modules: [model], replacingFP32: true)
        return record
    }

    /// Runs `modules` (a prefix of `model`'s top-level modules that takes the images, or the
    /// whole model) in FP32 inference over `batches` and returns the scales of their
    /// convolutions' activations: u8 after a ReLU, s8 where values can be negative, f32 for
    /// the last one, which hands real numbers to whatever follows (the FP32 head, or the
    /// trainable stages of `train --frozen-precision int8`). Nothing is quantized yet.
    public func calibrate(_ model: Classifier, modules: [any Layer], split: String, log: (String) -> Void = { _ in },
                          batches next: () throws -> Tensor?) throws -> QuantizationRecord {
        for module in modules { try module.run(at: .fp32) }
        let units = Self.units(of: model, in: modules)
        var order: [ObjectIdentifier] = []
        var outputs: [ObjectIdentifier: RangeStatistic] = [:]
        var input = RangeStatistic(calibration, percentile: percentile)
        for (_, _, unit) in units {
            let id = ObjectIdentifier(unit)
            outputs[id] = RangeStatistic(calibration, percentile: percentile)
            unit.observer = { x, y in
                if !order.contains(id) { order.append(id) }
                if order.first == id { input.add(try x.toArray()) }
                outputs[id]!.add(try y.toArray())
            }
        }
        defer { units.forEach { $0.unit.observer = nil } }
        var images = 0
        while var x = try next() {
            images += x.shape[0]
            for module in modules { x = try module.forward(x, mode: .inference) }
            log("calibrated on \(images) images")
        }
        guard images > 0, order.count == units.count else {
            throw NeuralNetError.invalidArgument("calibration saw \(images) images and \(order.count) of \(units.count) convolutions")
        }
        var layers: [String: QuantizationRecord.LayerScales] = [:]
        let byID = Dictionary(uniqueKeysWithValues: units.map { (ObjectIdentifier($0.unit), $0) })
        for (index, id) in order.enumerated() {
            let (name, _, unit) = byID[id]!
            let output: ConvQuantization.Output = index == order.count - 1 ? .f32 : Self.isRectified(unit) ? .u8 : .s8
            layers[name] = QuantizationRecord.LayerScales(
                output: output, outputScale: output == .f32 ? 1 : outputs[id]!.scale(levels: output.levels),
                inputScale: index == 0 ? input.scale(levels: 127) : nil)
        }
        return QuantizationRecord(calibration: calibration, images: images, split: split, layers: layers)
    }

    /// Quantizes the convolutions of `modules` with `record`'s scales: BatchNorm folded, s8
    /// weights per output channel. With `replacingFP32` the FP32 parameters become the
    /// dequantized ones (an int8 model file); without, they stay as they are, so a frozen
    /// backbone can run in int8 while the model keeps, and saves, its FP32 weights. The
    /// record must name exactly these convolutions.
    public static func apply(_ record: QuantizationRecord, to model: Classifier, modules: [any Layer], replacingFP32: Bool) throws {
        let units = units(of: model, in: modules)
        if let mismatch = mismatch(record, units, architecture: model.architecture.name) {
            throw NeuralNetError.invalidArgument(mismatch)
        }
        for (name, _, unit) in units {
            let folded = try unit.inferenceParameters()
            let (weights, weightScales) = ConvQuantization.quantizeWeights(folded.weight, outChannels: unit.conv.outChannels)
            try install(weights: weights, weightScales: weightScales, bias: folded.bias, scales: record.layers[name]!, in: unit,
                        name: name, replacingFP32: replacingFP32)
        }
    }

    /// Whether `unit` ends in a ReLU, so that its output is never negative and fits u8.
    static func isRectified(_ unit: ConvBN) -> Bool {
        unit.activation.map { [Activation.Kind.relu, .relu6].contains($0.kind) } ?? false
    }

    /// Why `record` does not fit `units` (in the order `units(of:in:)` lists them, the last
    /// being the last to run), or nil when it is what calibration makes of them: exactly these
    /// convolutions, one input scale (the first's, which takes the FP32 image), one f32 output
    /// (the last's, which hands real numbers on), and u8 outputs only after a ReLU. A record
    /// changed by hand could otherwise run: a u8 last output would clip what the FP32 layers
    /// after it receive, a u8 output without a ReLU would drop every negative value.
    static func mismatch(_ record: QuantizationRecord, _ units: [(conv: String, bn: String, unit: ConvBN)],
                         architecture: String) -> String? {
        let expected = Set(units.map(\.conv)), recorded = Set(record.layers.keys)
        guard expected == recorded else {
            return "quantization layers do not fit \(architecture): missing [\(expected.subtracting(recorded).sorted().joined(separator: ", "))], "
                + "unexpected [\(recorded.subtracting(expected).sorted().joined(separator: ", "))]"
        }
        let inputs = record.layers.filter { $0.value.inputScale != nil }.keys.sorted()
        guard inputs.count == 1 else {
            return "the quantization record gives \(inputs.count) convolutions an input scale (\(inputs.prefix(3).joined(separator: ", "))), "
                + "expected exactly one: the first convolution's, which takes the FP32 image"
        }
        let f32 = record.layers.filter { $0.value.output == .f32 }.keys.sorted()
        let last = units.suffix(1).map(\.conv)
        guard f32 == last else {
            return "the quantization record gives \(f32.count) convolutions an f32 output (\(f32.prefix(3).joined(separator: ", "))), "
                + "expected exactly one: \(last.joined()), the last, which hands real numbers to the FP32 layers after it"
        }
        if let clipped = units.first(where: { record.layers[$0.conv]!.output == .u8 && !isRectified($0.unit) }) {
            return "the quantization record has \(clipped.conv) write u8, but it has no ReLU: its negative outputs would be lost (s8 expected)"
        }
        return nil
    }

    /// Gives `unit` its int8 form and, with `replacingFP32`, FP32 parameters that compute the
    /// same dequantized convolution (BatchNorm folded away), so both views of the model agree.
    static func install(weights: [Int8], weightScales: [Float], bias: [Float], scales: QuantizationRecord.LayerScales,
                        in unit: ConvBN, name: String, replacingFP32: Bool = true) throws {
        unit.quantization = try ConvQuantization(weights: weights, weightScales: weightScales, bias: bias,
                                                 inputScale: scales.inputScale, output: scales.output,
                                                 outputScale: scales.outputScale, for: unit.conv, name: name)
        guard replacingFP32 else { return }
        let perOutput = weights.count / weightScales.count
        try unit.assignFolded(weight: weights.indices.map { Float(weights[$0]) * weightScales[$0 / perOutput] }, bias: bias)
    }
}

/// The magnitude range of one activation over calibration: the maximum (`minmax`) or the
/// mean of per-batch percentiles (`percentile`).
struct RangeStatistic {
    let calibration: Calibration
    let percentile: Double
    private var largest: Float = 0
    private var percentiles: [Float] = []

    init(_ calibration: Calibration, percentile: Double) {
        self.calibration = calibration
        self.percentile = percentile
    }

    mutating func add(_ values: [Float]) {
        let top = values.reduce(0) { max($0, abs($1)) }
        largest = max(largest, top)
        guard calibration == .percentile, top > 0 else { return }
        // A 4096-bin histogram of |x| over [0, top]: the percentile to 1/4096 of the batch's range.
        let bins = 4096
        var histogram = [Int](repeating: 0, count: bins)
        let perBin = Float(bins) / top
        for v in values { histogram[min(bins - 1, Int(abs(v) * perBin))] += 1 }
        let wanted = Int((Double(values.count) * percentile / 100).rounded(.up))
        var seen = 0
        for (bin, count) in histogram.enumerated() {
            seen += count
            if seen >= wanted {
                percentiles.append(Float(bin + 1) / perBin)
                return
            }
        }
        percentiles.append(top)
    }

    /// The step that maps the range onto `levels` integer steps (a tiny step for a layer that
    /// only ever produced zeros, which any step represents exactly).
    func scale(levels: Float) -> Float {
        let range = calibration == .percentile && !percentiles.isEmpty
            ? percentiles.reduce(0, +) / Float(percentiles.count) : largest
        return max(range, 1e-6) / levels
    }
}

extension Quantizer {
    /// Calibrates on `images` (their evaluation views, normalized as the model's file says, in
    /// batches of `batch`) and quantizes the predictor's model in place; returns the metadata of
    /// its int8 file. A fusion model's metadata branch does not touch the backbone, so it gets
    /// zeros during calibration.
    public func quantize(_ predictor: Predictor, images: [URL], split: String, batch: Int = 32,
                         log: (String) -> Void = { _ in }) throws -> ModelMetadata {
        let size = predictor.pipeline.inputSize, plane = 3 * size * size
        var start = 0
        let record = try quantize(predictor.model, split: split, log: log) {
            guard start < images.count else { return nil }
            let chunk = images[start..<min(start + batch, images.count)]
            start += chunk.count
            var pixels = [Float](repeating: 0, count: chunk.count * plane)
            let views = try chunk.map { try predictor.view(of: $0) }
            pixels.withUnsafeMutableBufferPointer { buffer in
                for (i, view) in views.enumerated() { predictor.pipeline.normalization.write(view, to: buffer.baseAddress! + i * plane) }
            }
            if let spec = predictor.metadata.metadataSpec {
                try predictor.model.setMetadata(Tensor(shape: [chunk.count, spec.width], repeating: 0))
            }
            return try Tensor(shape: [chunk.count, 3, size, size], values: pixels)
        }
        var metadata = predictor.metadata
        metadata.precision = .int8
        metadata.quantization = record
        return metadata
    }
}
