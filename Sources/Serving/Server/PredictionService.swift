import Crypto
import Dermoscopy
import Foundation
import Hummingbird
import Inference
import Logging

/// What the routes share: the model behind its batching queue, the limits, and telemetry.
///
/// `@unchecked Sendable`: after `init` nothing here changes except inside the queue, metrics
/// and readiness, which lock; the `Predictor` is used for its model only on the queue's
/// worker thread, and elsewhere only for its immutable preprocessing and metadata.
final class PredictionService: @unchecked Sendable {
    let options: ServeOptions
    let predictor: Predictor
    let identity: ModelIdentity
    let card: String
    let queue: InferenceQueue
    let metrics = ServerMetrics()
    let audit: AuditLog
    private let readiness = NSLock()
    private var warm = false

    init(modelFile: URL, options: ServeOptions, auditLogger: Logger) throws {
        try options.validate()
        self.options = options
        predictor = try Predictor(modelFile: modelFile, precision: options.precision)
        predictor.lowConfidenceThreshold = options.lowConfidenceThreshold
        let fileData = try Data(contentsOf: modelFile, options: .mappedIfSafe)
        let version = options.modelVersion ?? modelFile.deletingPathExtension().lastPathComponent
        identity = ModelIdentity(id: String(SHA256.hex(fileData).prefix(16)), version: version,
                                 architecture: predictor.metadata.architecture)
        card = ModelCard.markdown(predictor.metadata, file: modelFile.lastPathComponent)
        audit = AuditLog(modelVersion: version, logger: auditLogger)
        queue = InferenceQueue(predictor: predictor, maxBatch: options.maxBatch, maxDelay: options.maxDelay,
                               capacity: options.queueCapacity, metrics: metrics)
    }

    /// Ready once a first forward pass has run (oneDNN creates its kernels on first use).
    var isReady: Bool { readiness.withLock { warm } }

    func warmUp() async throws {
        let size = predictor.pipeline.inputSize
        let gray = RGBImage(width: size, height: size, pixels: [UInt8](repeating: 128, count: size * size * 3))
        let missing = predictor.takesMetadata ? [try predictor.encodeMetadata([:]).vector] : nil
        _ = try await queue.submit(.classify(views: [gray], metadata: missing, tta: 1), timeout: .seconds(600))
        readiness.withLock { warm = true }
    }

    /// The network's view of one upload, or the 4xx that says why there is none. The format
    /// is sniffed from the bytes; size and pixel limits are checked before decoding.
    func view(of upload: Upload) throws -> RGBImage {
        let name = upload.name ?? "upload"
        guard ImageFormat.sniff(upload.data) != nil else {
            throw APIError(.unsupportedMediaType,
                           "\(name): not a JPEG or PNG image (the format is read from the content, not the file name or Content-Type)")
        }
        do {
            return try predictor.view(of: upload.data, name: name,
                                      limits: DecodeLimits(maxFileBytes: options.maxUploadBytes, maxPixels: options.maxPixels))
        } catch let error as ImageError {
            throw APIError(.unprocessableContent, error.description)
        }
    }

    /// The upload at its full resolution, for blending Grad-CAM over what the user sent.
    func original(of upload: Upload) throws -> RGBImage {
        do {
            return try ImageDecoder.decode(upload.data, name: upload.name ?? "upload",
                                           limits: DecodeLimits(maxFileBytes: options.maxUploadBytes, maxPixels: options.maxPixels))
        } catch let error as ImageError {
            throw APIError(.unprocessableContent, error.description)
        }
    }

    /// Runs `work` through the queue, turning queue failures into API errors.
    func submit(_ work: InferenceQueue.Work) async throws -> InferenceQueue.Result {
        do {
            return try await queue.submit(work, timeout: options.requestTimeout)
        } catch let failure as InferenceQueue.Failure {
            switch failure {
            case .full(let seconds):
                throw APIError(.tooManyRequests, "the inference queue is full (\(queue.capacity) images); retry after \(seconds) s",
                               headers: [.retryAfter: "\(seconds)"])
            case .timedOut:
                throw APIError(.serviceUnavailable,
                               "the request waited longer than \(Int(options.requestTimeout.seconds)) s in the inference queue",
                               headers: [.retryAfter: "5"])
            case .stopped:
                throw APIError(.serviceUnavailable, "the server is shutting down")
            }
        }
    }

    /// The result for one image's probabilities, and its Grad-CAM overlay as a PNG data URL
    /// when `cam` is set.
    /// `original` (the upload at full resolution) is given when Grad-CAM is wanted.
    func prediction(name: String?, view: RGBImage, metadata: (vector: [Float]?, unknown: [String]), probabilities: [Double],
                    tta: Int, original: RGBImage?) async throws -> PredictionBody {
        var prediction: Prediction
        do {
            prediction = try predictor.prediction(image: name ?? "upload", probabilities: probabilities)
        } catch let error as NonFiniteProbabilityError {
            throw APIError(.internalServerError, error.description)
        }
        if !metadata.unknown.isEmpty { prediction.unknownMetadata = metadata.unknown }
        var overlay: String?
        if let original {
            let classIndex = prediction.classes.firstIndex(of: prediction.top)!
            let work = InferenceQueue.Work.explain(view: view, original: original, metadata: metadata.vector, classIndex: classIndex)
            guard case .overlay(let image) = try await submit(work) else {
                throw APIError(.internalServerError, "Grad-CAM returned no image")
            }
            overlay = "data:image/png;base64," + (try PNGEncoder.encode(image)).base64EncodedString()
        }
        return PredictionBody(name: name, prediction: prediction, tta: tta, cam: overlay)
    }
}
