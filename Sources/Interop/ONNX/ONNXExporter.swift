import Foundation
import Models
import NeuralNet

/// What an exported file says besides the weights: the operator set, the input it takes,
/// the calibration, and the facts a deployer needs (class names, preprocessing).
public struct ONNXExportOptions: Sendable {
    /// Operator sets whose operators SkinLesion writes with the same meaning throughout
    /// (13: Softmax over one axis, Clip with bound inputs; 23: the newest ONNX Runtime 1.2x reads).
    public static let supportedOpsets = 13...23
    /// Read by every ONNX Runtime since 1.12 and by TensorRT 8.6.
    public static let defaultOpset = 17

    public var opset = defaultOpset
    /// Height and width of the image input.
    public var inputSize: Int
    public var classNames: [String]
    /// Divides the logits before the softmax (`skinlesion calibrate`); nil: 1.
    public var temperature: Float?
    /// The model's normalization (the model file's `preprocessing`).
    public var preprocessing: Preprocessing
    /// Whether the graph starts with `preprocessing`, so its input is 0–255 RGB; otherwise
    /// the input is already normalized, as the network itself takes it.
    public var includesPreprocessing: Bool
    /// The producing program's version, recorded in the file.
    public var producerVersion: String
    /// Written as the model's doc string (the intended-use notice).
    public var doc: String
    /// A fusion model's metadata spec as JSON (how raw patient data becomes the `metadata`
    /// input), recorded for deployers.
    public var metadataSpec: String?

    public init(inputSize: Int, classNames: [String], temperature: Float? = nil, preprocessing: Preprocessing,
                includesPreprocessing: Bool = false, opset: Int = defaultOpset, producerVersion: String, doc: String) {
        self.inputSize = inputSize
        self.classNames = classNames
        self.temperature = temperature
        self.preprocessing = preprocessing
        self.includesPreprocessing = includesPreprocessing
        self.opset = opset
        self.producerVersion = producerVersion
        self.doc = doc
    }

    /// The ONNX IR version each operator set came with (ONNX's release table): the oldest
    /// file format that can hold it, so older readers load the file.
    var irVersion: Int {
        switch opset {
        case ...14: 7
        case 15...18: 8
        case 19...20: 9
        case 21...22: 10
        default: 11
        }
    }
}

/// Writes a classifier as an ONNX model: input `image` `[batch, 3, size, size]` with a
/// symbolic batch (and `metadata` `[batch, width]` for a metadata-fusion model), outputs
/// `logits` and `probabilities` (softmax of logits / temperature), every layer as the ONNX
/// operators that compute exactly what its inference forward does.
public enum ONNXExporter {
    public struct Summary: Sendable {
        public let nodes: Int
        public let initializers: Int
        public let bytes: Int
        public let opset: Int
        public let irVersion: Int
    }

    /// Writes `model` to `url` atomically.
    @discardableResult
    public static func write(_ model: Classifier, options: ONNXExportOptions, to url: URL) throws -> Summary {
        let (proto, summary) = try export(model, options: options)
        try AtomicFile.write(to: url, error: { ONNXExportError(layer: url.lastPathComponent, $0) }) { sink in
            try proto.write(to: sink.write)
        }
        return summary
    }

    /// The encoded `ModelProto` and what it holds.
    static func export(_ model: Classifier, options: ONNXExportOptions) throws -> (ProtobufMessage, Summary) {
        try validate(model, options)
        let graph = ONNXGraph(opset: options.opset)
        let size = options.inputSize
        let image = try graph.input("image", shape: [3, size, size])
        if let fusion = model.fusion { graph.metadata = try graph.input("metadata", shape: [fusion.inputs]) }
        let normalized = options.includesPreprocessing ? try normalize(image, options.preprocessing, into: graph) : image
        let network = try graph.add(model.network, normalized)
        guard network.shape == [model.classes] else {
            throw ONNXExportError(layer: graph.path, "the network's output is [N, \(network.shape)], not [N, \(model.classes)]")
        }
        let logits = try graph.output("Identity", [network.name], named: "logits", shape: network.shape)
        let calibrated = options.temperature.map { temperature in
            graph.node("Div", [logits.name, graph.constant("temperature", shape: [], floats: [temperature])], shape: logits.shape)
        } ?? logits
        let probabilities = try graph.output("Softmax", [calibrated.name], [("axis", .int(1))], named: "probabilities",
                                             shape: logits.shape)

        let batch = ONNXProto.Dimension.symbol("batch")
        let inputDoc = options.includesPreprocessing
            ? "RGB pixels in [0, 255], NCHW; \(options.preprocessing.mode) normalization is in the graph"
            : "normalized image, NCHW (\(options.preprocessing.summary)), as the network takes it"
        let inputs = [ONNXProto.valueInfo(image.name, type: .float, shape: [batch] + image.shape.map { .value($0) }, doc: inputDoc)]
            + (graph.metadata.map {
                [ONNXProto.valueInfo($0.name, type: .float, shape: [batch] + $0.shape.map { .value($0) },
                                     doc: "patient metadata encoded by the model's metadata spec (skinlesion.metadata_spec)")]
            } ?? [])
        let outputs = [
            ONNXProto.valueInfo(logits.name, type: .float, shape: [batch, .value(model.classes)], doc: "uncalibrated logits"),
            ONNXProto.valueInfo(probabilities.name, type: .float, shape: [batch, .value(model.classes)],
                                doc: "softmax(logits / \(options.temperature ?? 1))"),
        ]
        let proto = ONNXProto.model(
            irVersion: options.irVersion, opset: options.opset, producer: ("skinlesion", options.producerVersion),
            doc: options.doc,
            graph: ONNXProto.graph(name: model.architecture.name, nodes: graph.nodes, initializers: graph.initializers,
                                   inputs: inputs, outputs: outputs),
            properties: properties(model, options))
        return (proto, Summary(nodes: graph.nodes.count, initializers: graph.initializers.count, bytes: proto.byteCount,
                               opset: options.opset, irVersion: options.irVersion))
    }

    private static func validate(_ model: Classifier, _ options: ONNXExportOptions) throws {
        func fail(_ message: String) -> ONNXExportError { ONNXExportError(layer: model.architecture.name, message) }
        let opsets = ONNXExportOptions.supportedOpsets
        guard opsets.contains(options.opset) else {
            throw fail("opset \(options.opset) is not supported; use \(opsets.lowerBound)–\(opsets.upperBound)")
        }
        guard options.inputSize > 0 else { throw fail("input size must be positive, got \(options.inputSize)") }
        guard options.classNames.count == model.classes else {
            throw fail("\(options.classNames.count) class names for a \(model.classes)-class model")
        }
        if let temperature = options.temperature, !(temperature.isFinite && temperature > 0) {
            throw fail("temperature must be a positive number, got \(temperature)")
        }
    }

    /// (x/255 − mean)/std per RGB channel as x·a + b, with a and b worked out in double
    /// precision and rounded once; then the planes in the network's order (BGR for caffe).
    private static func normalize(_ image: ONNXValue, _ preprocessing: Preprocessing, into graph: ONNXGraph) throws -> ONNXValue {
        guard preprocessing.mean.count == 3, preprocessing.std.count == 3, preprocessing.std.allSatisfy({ $0 > 0 }) else {
            throw ONNXExportError(layer: "preprocessing", "'\(preprocessing.mode)' needs 3 means and 3 positive standard deviations")
        }
        return graph.scoped("preprocessing") {
            let scale = preprocessing.std.map { Float(1 / (255 * Double($0))) }
            let offset = zip(preprocessing.mean, preprocessing.std).map { Float(-Double($0) / Double($1)) }
            let scaled = graph.node("Mul", [image.name, graph.constant("scale", shape: [1, 3, 1, 1], floats: scale)], shape: image.shape)
            let shifted = graph.node("Add", [scaled.name, graph.constant("offset", shape: [1, 3, 1, 1], floats: offset)],
                                     shape: image.shape)
            guard preprocessing.reversesChannels else { return shifted }
            let order = graph.constant("bgr", shape: [3], int64s: [2, 1, 0])
            return graph.node("Gather", [shifted.name, order], [("axis", .int(1))], shape: image.shape)
        }
    }

    /// `metadata_props`: what a deployer needs to feed the model and read its outputs.
    private static func properties(_ model: Classifier, _ options: ONNXExportOptions) -> [(key: String, value: String)] {
        let classes = (try? JSONEncoder().encode(options.classNames)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let preprocessing = (options.includesPreprocessing ? "in graph: " : "apply before: ") + options.preprocessing.summary
        return [
            ("skinlesion.architecture", model.architecture.name),
            ("skinlesion.classes", classes),
            ("skinlesion.input_size", "\(options.inputSize)"),
            ("skinlesion.preprocessing", preprocessing),
            ("skinlesion.temperature", "\(options.temperature ?? 1)"),
        ] + (options.metadataSpec.map { [("skinlesion.metadata_spec", $0)] } ?? [])
    }
}
