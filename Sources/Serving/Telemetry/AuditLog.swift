import Foundation
import Logging

/// One line per request, for whoever must later account for what the model said: when, a
/// SHA-256 of each input image (never the image or its file name), the model version, the
/// result and the latency. Goes through swift-log, so operators route it like any log.
struct AuditLog: Sendable {
    let logger: Logger
    let modelVersion: String

    init(modelVersion: String, logger: Logger) {
        self.logger = logger
        self.modelVersion = modelVersion
    }

    /// `inputs` are the images' SHA-256 digests; `result` is the top class per image, or
    /// the error.
    func record(route: String, status: Int, inputs: [String], result: String, seconds: Double) {
        logger.info("request", metadata: [
            "time": .string(ISO8601DateFormatter().string(from: Date())),
            "route": .string(route),
            "status": .stringConvertible(status),
            "input_sha256": .string(inputs.isEmpty ? "-" : inputs.joined(separator: ",")),
            "model_version": .string(modelVersion),
            "result": .string(result),
            "latency_ms": .string(String(format: "%.1f", seconds * 1000)),
        ])
    }
}
