import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Dermoscopy
import Inference
import Logging
import Models
import XCTest
@testable import Serving

/// A real server on a free loopback port over a small model (EfficientNet-Lite0 at 64×64,
/// 7 HAM10000 classes, random weights, temperature 1.5), and a plain URLSession client: every
/// test goes through real HTTP.
final class ServerHarness: @unchecked Sendable {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let hamImages = repository.deletingLastPathComponent().appendingPathComponent("shared/data/ham10000-sample")
    static let classes = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]

    let directory: URL
    let modelFile: URL
    let server: PredictionServer
    let base: URL
    let audit: AuditCapture
    private let task: Task<Void, any Error>

    /// With `metadataSpec`, the model fuses patient metadata encoded by it (a 16-unit branch);
    /// `weights` may change the model's weights before it is saved and served. `ensemble`, given
    /// the directory and this model's file, may return an ensemble to serve instead.
    init(metadataSpec: MetadataSpec? = nil, options configure: (inout ServeOptions) -> Void = { _ in },
         weights: (Classifier) throws -> Void = { _ in },
         ensemble: (_ directory: URL, _ modelFile: URL) throws -> Ensemble? = { _, _ in nil }) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("skinlesion-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        modelFile = directory.appendingPathComponent("lesions-v3.safetensors")
        let fusion = metadataSpec.map { MetadataFusion(inputs: $0.width, hidden: [16]) }
        let model = try Architectures.named("efficientnet-lite0").build(classes: Self.classes.count, fusion: fusion, seed: 5)
        try weights(model)
        var metadata = ModelMetadata(architecture: model.architecture.name, classNames: Self.classes, head: model.head,
                                     inputSize: 64, preprocessing: model.architecture.preprocessing)
        metadata.temperature = 1.5
        metadata.metadataSpec = metadataSpec
        metadata.fusion = fusion
        metadata.training = TrainingSummary(datasets: ["ham10000"], splitProtocol: "lesion-grouped", imagesPerSplit: ["train": 7],
                                            classCounts: ["mel": 7], epochsTrained: 1, bestEpoch: 1, validationBalancedAccuracy: 0.5,
                                            validationAccuracy: 0.5, validationMacroAUC: nil, settings: "test")
        metadata.training?.dataLicenses = [DataLicense(dataset: "ham10000", license: DataLicense.nonCommercial, basis: "HAM10000 layout")]
        try ModelFile.save(model, metadata: metadata, to: modelFile)

        var options = ServeOptions()
        options.port = 0
        configure(&options)
        let port = PortBox()
        let audit = AuditCapture()
        self.audit = audit
        var logger = Logger(label: "skinlesion.test") { _ in audit }
        logger.logLevel = .info
        let onListening: @Sendable (String, Int) -> Void = { _, bound in port.set(bound) }
        if let members = try ensemble(directory, modelFile) {
            server = try PredictionServer(ensemble: members, options: options, logger: logger, auditLogger: logger, onListening: onListening)
        } else {
            server = try PredictionServer(modelFile: modelFile, options: options, logger: logger, auditLogger: logger, onListening: onListening)
        }
        let server = self.server
        task = Task { try await server.run() }
        let bound = try await port.wait()
        base = URL(string: "http://127.0.0.1:\(bound)")!
        for _ in 0..<600 where try await get("/readyz").status != 200 { try await Task.sleep(for: .milliseconds(50)) }
    }

    func stop() async throws {
        await server.shutdown()
        try await task.value
        try? FileManager.default.removeItem(at: directory)
    }

    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: Data

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
        var errorMessage: String { ((json["error"] as? [String: Any])?["message"] as? String) ?? "" }
    }

    func get(_ path: String) async throws -> Reply {
        try await send(URLRequest(url: URL(string: path, relativeTo: base)!))
    }

    func post(_ path: String, body: Data, contentType: String?) async throws -> Reply {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        return try await send(request)
    }

    /// `multipart/form-data` with one file part per `(field, file name, bytes)`.
    func postMultipart(_ path: String, files: [(String, String, Data)], fields: [(String, String)] = []) async throws -> Reply {
        let boundary = "skinlesion-test-\(UUID().uuidString)"
        var body = Data()
        for (field, name, data) in files {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(name)\"\r\n".utf8)
            body += Data("Content-Type: application/octet-stream\r\n\r\n".utf8) + data + Data("\r\n".utf8)
        }
        for (field, value) in fields {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"\r\n\r\n\(value)\r\n".utf8)
        }
        body += Data("--\(boundary)--\r\n".utf8)
        return try await post(path, body: body, contentType: "multipart/form-data; boundary=\(boundary)")
    }

    private func send(_ request: URLRequest) async throws -> Reply {
        var request = request
        request.timeoutInterval = 120
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
        return Reply(status: http.statusCode, headers: headers, body: data)
    }

    /// A real HAM10000 JPEG from ../shared, or a skip saying where it was looked for.
    static func hamImage(_ index: Int = 0) throws -> (name: String, data: Data) {
        let folder = hamImages.appendingPathComponent("HAM10000_images_part_1")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path).filter({ $0.hasSuffix(".jpg") }).sorted(),
              names.count > index else {
            throw XCTSkip("real HAM10000 sample not found at \(folder.path) (see ../shared/data/README.md)")
        }
        return (names[index], try Data(contentsOf: folder.appendingPathComponent(names[index])))
    }
}

/// The bound port, handed from the server's start callback to the test.
private final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port: Int?

    func set(_ value: Int) {
        lock.withLock { port = value }
    }

    func wait() async throws -> Int {
        for _ in 0..<600 {
            if let value = lock.withLock({ port }) { return value }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw XCTSkip("the server did not start listening within 30 s")
    }
}

/// Keeps every log line the server writes, so tests can read the audit trail.
final class AuditCapture: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [(message: String, metadata: Logger.Metadata)] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.withLock { lines.append((event.message.description, event.metadata ?? [:])) }
    }

    /// Audit lines (message "request"), oldest first.
    var requests: [Logger.Metadata] {
        lock.withLock { lines.filter { $0.message == "request" }.map(\.metadata) }
    }

    /// Everything logged, flattened to text, to check what never appears in logs.
    var allText: String {
        lock.withLock { lines.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n") }
    }
}
