import Dermoscopy
import Foundation
import Models
import NeuralNet

/// One image's result: every class's probability (temperature-calibrated when the model file
/// carries a temperature), the top class, and whether the top probability is below the
/// low-confidence threshold.
public struct Prediction: Codable, Sendable, Equatable {
    public let image: String
    public let classes: [String]
    public let probabilities: [Double]
    public let top: String
    public let confidence: Double
    public let lowConfidence: Bool
    /// For an ensemble: whether every member is calibrated.
    public var calibrated: Bool
    /// Metadata values the model's spec did not know, encoded in their feature's unknown slot
    /// (absent when there were none).
    public var unknownMetadata: [String]?
    /// An ensemble's members' own probabilities, beside the combined ones (absent for one model).
    public var members: [MemberProbabilities]?
}

/// A trained model ready to classify images: it applies the model's own preprocessing, the
/// evaluation view (shorter side to the input size, centre crop), optional test-time
/// augmentation over the 8 dihedral views, and the calibration temperature.
public final class Predictor {
    public let model: Classifier
    public let metadata: ModelMetadata
    public let pipeline: ImagePipeline
    public var lowConfidenceThreshold: Double = 0.5

    /// The number format the model runs at (`--precision`).
    public let precision: Precision

    /// Loads `modelFile` and runs it at `precision`, by default the one the file is stored
    /// for (fp32, or int8 for `skinlesion quantize`'s files). An int8 file at `.fp32` runs
    /// its dequantized weights in FP32; an FP32 file at `.int8` is refused (quantize it first),
    /// and so is a precision this CPU lacks the instructions for.
    public init(modelFile: URL, precision: Precision? = nil) throws {
        (model, metadata) = try ModelFile.load(from: modelFile)
        self.precision = precision ?? metadata.precision ?? .fp32
        pipeline = ImagePipeline(inputSize: metadata.inputSize,
                                 normalization: try metadata.preprocessing.normalization(source: modelFile.lastPathComponent))
        do {
            try model.run(at: self.precision)
        } catch let error as NeuralNetError {
            throw ModelFileError(file: modelFile.lastPathComponent, message: "\(error)")
        }
    }

    /// The evaluation view of an image file.
    public func view(of url: URL) throws -> RGBImage {
        var unused = SeededGenerator(seed: 0)
        let decoded = try pipeline.decode(url, sourceSize: pipeline.inputSize)
        return pipeline.view(of: decoded, training: false, rng: &unused)
    }

    /// The evaluation view of image bytes that are not a file (an upload), decoded within
    /// `limits`; `name` stands in for a path in errors.
    public func view(of data: Data, name: String, limits: DecodeLimits) throws -> RGBImage {
        var unused = SeededGenerator(seed: 0)
        let size = pipeline.inputSize
        let decoded = try ImageDecoder.decode(data, name: name, minimumSize: (size, size), limits: limits)
        return pipeline.view(of: decoded, training: false, rng: &unused)
    }

    /// Grad-CAM (Selvaraju et al. 2017) of class `classIndex` at the backbone's own target
    /// layer (`architecture.camLayer`) for the view the network saw. Blended over `original`
    /// (the decoded image at its full resolution and aspect) when given, mapped back onto the
    /// centre square the view was cut from; else over the view itself.
    public func camOverlay(of view: RGBImage, over original: RGBImage? = nil, metadata vector: [Float]? = nil,
                           classIndex: Int) throws -> RGBImage {
        let size = pipeline.inputSize
        try model.setMetadata(try metadataTensor(vector.map { [$0] }))
        var pixels = [Float](repeating: 0, count: 3 * size * size)
        pixels.withUnsafeMutableBufferPointer { pipeline.normalization.write(view, to: $0.baseAddress!) }
        let heat = try GradCAM.heatmap(model: model, input: Tensor(shape: [1, 3, size, size], values: pixels),
                                       classIndex: classIndex)
        guard let original else { return HeatmapOverlay.blend(image: view, map: heat.map, width: heat.width, height: heat.height) }
        return HeatmapOverlay.blend(image: original, map: heat.map, width: heat.width, height: heat.height,
                                    region: .centreSquare(of: original))
    }

    /// Whether every image needs metadata values (the model fuses them with the image).
    public var takesMetadata: Bool { metadata.metadataSpec != nil }

    /// One image's raw metadata (by feature name or dataset column; missing values are legal)
    /// encoded with the model's spec; values it does not know are returned for reporting.
    /// A model without metadata takes none.
    public func encodeMetadata(_ values: [String: String]) throws -> (vector: [Float], unknown: [String]) {
        guard let spec = metadata.metadataSpec else {
            guard values.isEmpty else {
                throw ModelFileError(file: "metadata", message: "this model was trained without patient metadata; it takes none "
                                     + "(given: \(values.keys.sorted().joined(separator: ", ")))")
            }
            return ([], [])
        }
        return try spec.encode(values)
    }

    /// Logits for evaluation views, `[views.count × classes]`, in batches of `batch`;
    /// `metadata` holds one encoded vector per view for a fusion model.
    public func logits(_ views: [RGBImage], metadata vectors: [[Float]]? = nil, batch: Int = 32) throws -> [Float] {
        let size = pipeline.inputSize, plane = 3 * size * size
        if takesMetadata {
            guard let vectors, vectors.count == views.count else {
                throw ModelFileError(file: "metadata", message: "this model fuses patient metadata (\(metadata.metadataSpec!.names.joined(separator: ", "))): "
                                     + "give values for every image (missing ones may be empty)")
            }
        }
        var out: [Float] = []
        for start in stride(from: 0, to: views.count, by: batch) {
            let range = start..<min(start + batch, views.count)
            let chunk = views[range]
            var pixels = [Float](repeating: 0, count: chunk.count * plane)
            pixels.withUnsafeMutableBufferPointer { buffer in
                for (i, view) in chunk.enumerated() { pipeline.normalization.write(view, to: buffer.baseAddress! + i * plane) }
            }
            try model.setMetadata(try metadataTensor(vectors.map { Array($0[range]) }))
            out += try model.forward(Tensor(shape: [chunk.count, 3, size, size], values: pixels), mode: .inference).toArray()
        }
        return out
    }

    /// `[rows, width]` for a fusion model, nil for an image-only one.
    private func metadataTensor(_ rows: [[Float]]?) throws -> Tensor? {
        guard takesMetadata, let rows else { return nil }
        return try Tensor(shape: [rows.count, metadata.metadataSpec!.width], values: rows.flatMap { $0 })
    }

    /// Probabilities `[views.count × classes]` averaged over `tta` dihedral views (1 or 8),
    /// softmax at the calibration temperature; forward passes of at most `batch` images.
    /// Each view's metadata vector (fusion models) goes with all its dihedral copies.
    public func probabilities(_ views: [RGBImage], metadata vectors: [[Float]]? = nil, tta: Int = 1, batch: Int = 32) throws -> [[Double]] {
        guard tta == 1 || tta == 8 else { throw ModelFileError(file: "tta", message: "--tta must be 1 or 8, got \(tta)") }
        let k = metadata.classNames.count
        let expanded = tta == 1 ? views : views.flatMap { Augmenter.dihedralViews($0) }
        let expandedVectors = vectors.map { tta == 1 ? $0 : $0.flatMap { [[Float]](repeating: $0, count: tta) } }
        let z = try logits(expanded, metadata: expandedVectors, batch: batch)
        let temperature = Double(metadata.temperature ?? 1)
        return views.indices.map { i in
            var mean = [Double](repeating: 0, count: k)
            for v in 0..<tta {
                let row = z[((i * tta + v) * k)..<((i * tta + v + 1) * k)].map { Double($0) / temperature }
                let m = row.max()!
                let e = row.map { Foundation.exp($0 - m) }
                let s = e.reduce(0, +)
                for j in 0..<k { mean[j] += e[j] / s / Double(tta) }
            }
            return mean
        }
    }

    /// One image file's prediction; `values` are its raw metadata for a fusion model.
    public func predict(_ url: URL, metadata values: [String: String] = [:], tta: Int = 1) throws -> Prediction {
        let encoded = try encodeMetadata(values)
        var result = try prediction(image: url.path, probabilities: probabilities(
            [view(of: url)], metadata: takesMetadata ? [encoded.vector] : nil, tta: tta)[0])
        if !encoded.unknown.isEmpty { result.unknownMetadata = encoded.unknown }
        return result
    }

    /// The result for one image's probabilities (from `probabilities(_:tta:)`); throws
    /// `NonFiniteProbabilityError` rather than hand anyone a NaN.
    public func prediction(image: String, probabilities p: [Double]) throws -> Prediction {
        try NonFiniteProbabilityError.check(p, image: image, classes: metadata.classNames)
        let best = p.indices.max { p[$0] < p[$1] }!
        return Prediction(image: image, classes: metadata.classNames, probabilities: p, top: metadata.classNames[best],
                          confidence: p[best], lowConfidence: p[best] < lowConfidenceThreshold,
                          calibrated: metadata.temperature != nil)
    }
}

/// A probability that is NaN or infinite: the weights overflowed on this image. It is an error
/// naming the image, never a number shown to a user.
public struct NonFiniteProbabilityError: Error, CustomStringConvertible {
    public let image: String
    public let className: String
    public let value: Double

    public var description: String {
        "\(image): the model's probability of \(className) is \(value.isNaN ? "NaN" : "\(value)"), not a finite number; its weights overflow on this "
            + "image, so no prediction is given"
    }

    /// Throws for the first non-finite value of one image's row.
    public static func check(_ probabilities: some Collection<Double>, image: String, classes: [String]) throws {
        guard let bad = probabilities.firstIndex(where: { !$0.isFinite }) else { return }
        let offset = probabilities.distance(from: probabilities.startIndex, to: bad)
        throw NonFiniteProbabilityError(image: image, className: classes[offset], value: probabilities[bad])
    }
}
