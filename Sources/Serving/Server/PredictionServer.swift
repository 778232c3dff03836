import Foundation
import Hummingbird
import HummingbirdCore
import Inference
import Logging
import NIOCore
import ServiceLifecycle

/// `skinlesion serve`: the web page and REST API over one model, on Hummingbird 2.
///
/// SIGINT and SIGTERM (or `shutdown()`) shut down gracefully: the listener closes, requests
/// already in flight are answered, and only then does the inference queue stop.
/// A connection that sends nothing for `idleTimeout`, or takes longer than `headerTimeout`
/// to send a request head, is closed, so slow clients cannot hold connections for ever.
public final class PredictionServer: Sendable {
    let service: PredictionService
    private let group: ServiceGroup

    /// Loads the model and binds nothing yet; `onListening` receives the bound host and port
    /// (the real port when `options.port` is 0).
    /// `auditLogger` receives one line per request (see `AuditLog`).
    public convenience init(modelFile: URL, options: ServeOptions, logger: Logger = Logger(label: "skinlesion.serve"),
                            auditLogger: Logger = Logger(label: "skinlesion.audit"),
                            onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) throws {
        let single = EnsembleManifest(members: [EnsembleManifest.Member(model: modelFile.path)])
        try self.init(ensemble: Ensemble(manifest: single, relativeTo: modelFile.deletingLastPathComponent()), options: options,
                      logger: logger, auditLogger: auditLogger, onListening: onListening)
    }

    /// Serves an ensemble (one model is an ensemble of one): each member runs every batch on
    /// its own views, and answers carry the combined probabilities with each member's beside them.
    public init(ensemble: Ensemble, options: ServeOptions, logger: Logger = Logger(label: "skinlesion.serve"),
                auditLogger: Logger = Logger(label: "skinlesion.audit"),
                onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) throws {
        let service = try PredictionService(ensemble: ensemble, options: options, auditLogger: auditLogger)
        self.service = service
        let router = Router()
        Routes(service: service).register(on: router)
        let host = options.host
        let timeouts = HTTP1Channel.Configuration(
            additionalChannelHandlers: [HeaderTimeout(timeout: .init(options.headerTimeout))],
            idleTimeout: .init(options.idleTimeout))
        let app = Application(
            router: router,
            server: .http1(configuration: timeouts),
            configuration: .init(address: .hostname(host, port: options.port), serverName: "skinlesion"),
            services: [QueueLifecycle(service: service)],
            onServerRunning: { channel in onListening(host, channel.localAddress?.port ?? options.port) },
            logger: logger)
        group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    }

    /// Serves until a signal or `shutdown()`.
    public func run() async throws {
        try await group.run()
    }

    /// Starts the graceful shutdown `run()` performs on SIGTERM.
    public func shutdown() async {
        await group.triggerGracefulShutdown()
    }
}

/// Warms the model up (readiness turns true after the first forward pass) and stops the
/// queue at shutdown. Hummingbird shuts services down in reverse order, so this runs its
/// shutdown after the HTTP server has drained its requests.
private struct QueueLifecycle: Service {
    let service: PredictionService

    func run() async throws {
        try await service.warmUp()
        try? await gracefulShutdown()
        service.queue.stop()
    }
}
