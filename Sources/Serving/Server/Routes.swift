import Crypto
import Dermoscopy
import Foundation
import Hummingbird
import Inference

/// The HTTP surface: the web page, the prediction API, model metadata, health and metrics.
/// Every API route goes through `instrumented`, which turns failures into JSON errors and
/// writes the metrics and the audit line.
struct Routes {
    let service: PredictionService

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in WebAssets.response(WebAssets.indexHTML, type: "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in WebAssets.response(WebAssets.script, type: "text/javascript; charset=utf-8") }
        router.get("/style.css") { _, _ in WebAssets.response(WebAssets.styleSheet, type: "text/css; charset=utf-8") }
        router.get("/openapi.json") { _, _ in WebAssets.response(OpenAPIDocument.json, type: "application/json; charset=utf-8") }
        router.get("/healthz") { _, _ in try JSONResponse.make(HealthResponse(status: "ok")) }
        router.get("/readyz") { _, _ in
            service.isReady ? try JSONResponse.make(HealthResponse(status: "ready"))
                            : try JSONResponse.make(HealthResponse(status: "starting"), status: .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            WebAssets.response(service.metrics.render(), type: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/v1/model") { request, context in
            try await instrumented("/v1/model", request, context) { _, _ in (try modelResponse(), "model") }
        }
        router.get("/v1/model/card") { _, _ in WebAssets.response(service.card, type: "text/markdown; charset=utf-8") }
        router.post("/v1/predict") { request, context in
            try await instrumented("/v1/predict", request, context) { request, inputs in try await predict(&request, &inputs) }
        }
        router.post("/v1/predict/batch") { request, context in
            try await instrumented("/v1/predict/batch", request, context) { request, inputs in try await predictBatch(&request, &inputs) }
        }
    }

    /// Runs `handler` (which fills in the input digests as soon as it has the bytes, and
    /// returns its response and a result summary), and records the request whatever happens.
    private func instrumented(_ route: String, _ request: Request, _ context: BasicRequestContext,
                              _ handler: (inout Request, inout [String]) async throws -> (Response, String)) async throws -> Response {
        let start = ContinuousClock.now
        var request = request
        var status = 500, inputs: [String] = [], result = "error"
        defer {
            let seconds = (ContinuousClock.now - start).seconds
            service.metrics.recordRequest(route: route, status: status, seconds: seconds)
            service.audit.record(route: route, status: status, inputs: inputs, result: result, seconds: seconds)
        }
        do {
            let (response, summary) = try await handler(&request, &inputs)
            (status, result) = (Int(response.status.code), summary)
            return response
        } catch let error as APIError {
            (status, result) = (Int(error.status.code), "error: \(error.message)")
            throw error
        } catch {
            result = "error: \(error)"
            throw APIError(.internalServerError, "internal error: \(error)")
        }
    }

    private func modelResponse() throws -> Response {
        try JSONResponse.make(ModelResponse(service))
    }

    /// `tta` (1 or 8) and `cam` (true/false) from the query string.
    private func options(_ request: Request) throws -> (tta: Int, cam: Bool) {
        let query = request.uri.queryParameters
        let tta: Int
        switch query["tta"].map(String.init) {
        case nil, "1": tta = 1
        case "8": tta = 8
        case let other?: throw APIError(.badRequest, "query parameter tta must be 1 or 8, got '\(other)'")
        }
        let cam: Bool
        switch query["cam"].map({ $0.lowercased() }) {
        case nil, "false", "0": cam = false
        case "true", "1": cam = true
        case let other?: throw APIError(.badRequest, "query parameter cam must be true or false, got '\(other)'")
        }
        return (tta, cam)
    }

    /// The body, within `maxUploadBytes` (checked against Content-Length first, then while reading).
    private func form(_ request: inout Request) async throws -> UploadedForm {
        let limit = service.options.maxUploadBytes
        let tooLarge = APIError(.contentTooLarge, "the request body is over the limit of \(limit) bytes")
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit { throw tooLarge }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw tooLarge
        }
        return try UploadReader.read(body: Data(buffer: buffer), contentType: request.headers[.contentType])
    }

    /// Each member's metadata vectors (`[member][image]`, nil for a member without metadata)
    /// from the form fields and query parameters, and each image's unknown values.
    private func metadata(_ form: UploadedForm, _ request: Request, images: Int) throws -> (vectors: [[[Float]]?], unknown: [[String]]) {
        let query = request.uri.queryParameters.map { (name: String($0.key), value: String($0.value)) }
        return try RequestMetadata.vectors(fields: form.fields, query: query, images: images, union: service.ensemble.metadataSpec,
                                           specs: service.ensemble.members.map { $0.predictor.metadata.metadataSpec })
    }

    private func predict(_ request: inout Request, _ digests: inout [String]) async throws -> (Response, String) {
        let start = ContinuousClock.now
        let (tta, cam) = try options(request)
        let form = try await form(&request)
        let uploads = form.uploads
        digests = uploads.map { SHA256.hex($0.data) }
        guard uploads.count == 1 else {
            throw APIError(.badRequest, "\(uploads.count) images sent to /v1/predict, which takes one: use /v1/predict/batch")
        }
        let metadata = try metadata(form, request, images: 1)
        let views = try service.views(of: uploads[0])
        let decoded = ContinuousClock.now
        let p = try await service.classify([views], metadata: metadata.vectors, tta: tta)
        let body = try await service.prediction(name: uploads[0].name, view: views[0], metadata: (metadata.vectors[0]?[0], metadata.unknown[0]),
                                                probabilities: p[0], tta: tta, original: cam ? try service.original(of: uploads[0]) : nil)
        let response = try JSONResponse.make(PredictResponse(
            prediction: body, model: service.identity, timing: timing(start, decoded), intendedUse: service.intendedUse))
        return (response, "\(body.top) \(String(format: "%.4f", body.confidence))\(body.lowConfidence ? " low-confidence" : "")")
    }

    /// Several images in one request and one queue job, so they share forward passes; an image
    /// that cannot be read gets its own error entry without failing the others.
    private func predictBatch(_ request: inout Request, _ digests: inout [String]) async throws -> (Response, String) {
        let start = ContinuousClock.now
        let (tta, cam) = try options(request)
        guard !cam else { throw APIError(.badRequest, "cam=true is available on /v1/predict only (one image per Grad-CAM)") }
        let form = try await form(&request)
        let uploads = form.uploads
        digests = uploads.map { SHA256.hex($0.data) }
        guard uploads.count <= service.options.maxBatchImages else {
            throw APIError(.contentTooLarge, "\(uploads.count) images in one batch; the limit is \(service.options.maxBatchImages)")
        }
        let metadata = try metadata(form, request, images: uploads.count)
        var views: [(index: Int, views: [RGBImage])] = []
        var entries = [BatchEntry?](repeating: nil, count: uploads.count)
        for (index, upload) in uploads.enumerated() {
            do {
                views.append((index, try service.views(of: upload)))
            } catch let error as APIError {
                entries[index] = BatchEntry(error: error)
            }
        }
        let decoded = ContinuousClock.now
        if !views.isEmpty {
            let vectors = metadata.vectors.map { member in member.map { all in views.map { all[$0.index] } } }
            let p = try await service.classify(views.map(\.views), metadata: vectors, tta: tta)
            for (row, item) in views.enumerated() {
                do {
                    let body = try await service.prediction(name: uploads[item.index].name, view: item.views[0],
                                                            metadata: (metadata.vectors[0]?[item.index], metadata.unknown[item.index]),
                                                            probabilities: p[row], tta: tta, original: nil)
                    entries[item.index] = BatchEntry(prediction: body)
                } catch let error as APIError {
                    entries[item.index] = BatchEntry(error: error)
                }
            }
        }
        let results = entries.map { $0! }
        let response = try JSONResponse.make(BatchResponse(results: results, model: service.identity,
                                                           timing: timing(start, decoded),
                                                           intendedUse: service.intendedUse))
        let summary = results.map { $0.prediction?.top ?? "error \($0.error!.status)" }.joined(separator: ",")
        return (response, summary)
    }

    private func timing(_ start: ContinuousClock.Instant, _ decoded: ContinuousClock.Instant) -> Timing {
        let now = ContinuousClock.now
        return Timing(decodeMs: (decoded - start).seconds * 1000, queueAndInferenceMs: (now - decoded).seconds * 1000,
                      totalMs: (now - start).seconds * 1000)
    }
}
