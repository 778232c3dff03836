import Crypto
import Dermoscopy
import Foundation
import Hummingbird
import Inference
import Logging

/// What the routes share: the model (or an ensemble's members) behind its batching queue, the
/// limits, and telemetry. A single model is an ensemble of one, answered exactly as before.
///
/// `@unchecked Sendable`: after `init` nothing here changes except inside the queue, metrics
/// and readiness, which lock; the members' models run only on the queue's worker thread, and
/// elsewhere only their immutable preprocessing and metadata are read.
final class PredictionService: @unchecked Sendable {
    let options: ServeOptions
    let ensemble: Ensemble
    let identity: ModelIdentity
    /// Each member's own identity (its file's digest), for `/v1/model`.
    let memberIdentities: [ModelIdentity]
    let card: String
    let queue: InferenceQueue
    let metrics = ServerMetrics()
    let audit: AuditLog
    private let readiness = NSLock()
    private var warm = false

    init(ensemble: Ensemble, options: ServeOptions, auditLogger: Logger) throws {
        try options.validate()
        self.options = options
        self.ensemble = ensemble
        ensemble.lowConfidenceThreshold = options.lowConfidenceThreshold
        let members = try ensemble.members.map { member in
            ModelIdentity(id: String(SHA256.hex(try Data(contentsOf: member.file, options: .mappedIfSafe)).prefix(16)),
                          version: member.file.deletingPathExtension().lastPathComponent,
                          architecture: member.predictor.metadata.architecture)
        }
        let identity = ModelIdentity(ensemble: ensemble, members: members, version: options.modelVersion)
        (memberIdentities, self.identity) = (members, identity)
        card = ModelCard.markdown(ensemble)
        audit = AuditLog(modelVersion: identity.version, logger: auditLogger)
        queue = InferenceQueue(ensemble: ensemble, maxBatch: options.maxBatch, maxDelay: options.maxDelay,
                               capacity: options.queueCapacity, metrics: metrics)
    }

    /// The first member's; every model file carries the same statement.
    var intendedUse: String { ensemble.members[0].predictor.metadata.intendedUse }

    /// Ready once a first forward pass has run (oneDNN creates its kernels on first use).
    var isReady: Bool { readiness.withLock { warm } }

    func warmUp() async throws {
        let inputs = try ensemble.members.map { member in
            let size = member.predictor.pipeline.inputSize
            let gray = RGBImage(width: size, height: size, pixels: [UInt8](repeating: 128, count: size * size * 3))
            let missing = member.predictor.takesMetadata ? [try member.predictor.encodeMetadata([:]).vector] : nil
            return InferenceQueue.MemberInput(views: [gray], metadata: missing, tta: 1)
        }
        _ = try await queue.submit(.classify(inputs), timeout: .seconds(600))
        readiness.withLock { warm = true }
    }

    /// Each member's view of one upload (its own input size and preprocessing), or the 4xx
    /// that says why there is none. The format is sniffed from the bytes; size and pixel
    /// limits are checked before decoding.
    func views(of upload: Upload) throws -> [RGBImage] {
        let name = upload.name ?? "upload"
        guard ImageFormat.sniff(upload.data) != nil else {
            throw APIError(.unsupportedMediaType,
                           "\(name): not a JPEG or PNG image (the format is read from the content, not the file name or Content-Type)")
        }
        do {
            let limits = DecodeLimits(maxFileBytes: options.maxUploadBytes, maxPixels: options.maxPixels)
            return try ensemble.members.map { try $0.predictor.view(of: upload.data, name: name, limits: limits) }
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

    /// Every member's probabilities of `views` (`[image][member]`, with each member's metadata
    /// vectors `[member][image]`) in one queue job, combined: per image, the combined row and
    /// the members' rows. A member runs `tta` views, or more when its manifest asks for 8.
    func classify(_ views: [[RGBImage]], metadata: [[[Float]]?], tta: Int) async throws -> [(combined: [Double], members: [[Double]])] {
        let inputs = ensemble.members.indices.map { m in
            InferenceQueue.MemberInput(views: views.map { $0[m] }, metadata: metadata[m], tta: memberTTA(tta)[m])
        }
        guard case .probabilities(let perMember) = try await submit(.classify(inputs)) else {
            throw APIError(.internalServerError, "the model returned no probabilities")
        }
        let combined: [[Double]]
        do {
            combined = try ensemble.combine(perMember)
        } catch let error as ModelFileError {
            throw APIError(.badRequest, "\(error.message); this server's ensemble ranks the images of one request: "
                           + "send two or more to /v1/predict/batch")
        }
        return combined.indices.map { i in (combined[i], perMember.map { $0[i] }) }
    }

    /// The TTA each member runs for a request asking for `tta`.
    func memberTTA(_ tta: Int) -> [Int] { ensemble.members.map { max($0.tta, tta) } }

    /// The result for one image's probabilities, and its Grad-CAM overlay (the first member's,
    /// for the ensemble's top class) as a PNG data URL when `original` (the upload at full
    /// resolution) is given.
    func prediction(name: String?, view: RGBImage, metadata: (vector: [Float]?, unknown: [String]), probabilities: (combined: [Double], members: [[Double]]),
                    tta: Int, original: RGBImage?) async throws -> PredictionBody {
        let prediction: Prediction
        do {
            prediction = try ensemble.prediction(image: name ?? "upload", probabilities: probabilities.combined, members: probabilities.members,
                                                 unknown: metadata.unknown, tta: memberTTA(tta))
        } catch let error as NonFiniteProbabilityError {
            throw APIError(.internalServerError, error.description)
        }
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
