import ArgumentParser
import Foundation
import Inference
import NeuralNet
import Serving

/// `skinlesion serve`: the web page and REST API over one trained model or an ensemble, until
/// Ctrl-C or SIGTERM (both drain the requests in flight first).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model: a web page for people and a REST API for systems (see /openapi.json).",
        discussion: "Research use only: the page and every API answer carry the intended-use statement."
    )

    @OptionGroup var selection: ModelSelection
    @Option(help: "Address to listen on; 0.0.0.0 exposes the server to the network.") var host = "127.0.0.1"
    @Option(help: "Port (0 picks a free one).") var port = 8080
    @Option(help: "Most images per forward pass (TTA views count as 8).") var maxBatch = 16
    @Option(help: "Milliseconds the first queued image waits for a batch to fill.") var maxDelayMs = 5
    @Option(help: "Images the queue holds before answering 429 Too Many Requests.") var queueCapacity = 128
    @Option(help: "Seconds a request may wait in the queue before 503.") var timeout = 30
    @Option(help: "Seconds a connection may send nothing (between requests, or mid-upload) before it is closed.") var idleTimeout = 30.0
    @Option(help: "Seconds from a request's first byte to the end of its headers before the connection is closed (slow-loris clients).")
    var headerTimeout = 10.0
    @Option(help: "Largest request body, in bytes.") var maxUploadBytes = 20 << 20
    @Option(help: "Largest image, in pixels.") var maxPixels = 50_000_000
    @Option(help: "Most images per /v1/predict/batch request.") var maxBatchImages = 32
    @Option(help: "Flag predictions whose confidence is below this.") var lowConfidence = 0.5
    @Option(help: "Version label reported with every answer (default: the model file's name).") var modelVersion: String?
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @Option(help: Precision.help) var precision: Precision?

    func validate() throws {
        try OneProcess.require("serve",
                               consequence: "each rank would serve on the same port",
                               instead: "start one serve per machine, or several on their own --port behind a load balancer")
    }

    func run() async throws {
        if let threads { Engine.threads = threads }
        var options = ServeOptions()
        options.host = host
        options.port = port
        options.maxBatch = maxBatch
        options.maxDelay = .milliseconds(maxDelayMs)
        options.queueCapacity = queueCapacity
        options.requestTimeout = .seconds(timeout)
        options.idleTimeout = try Self.duration(idleTimeout, "--idle-timeout")
        options.headerTimeout = try Self.duration(headerTimeout, "--header-timeout")
        options.maxUploadBytes = maxUploadBytes
        options.maxPixels = maxPixels
        options.maxBatchImages = maxBatchImages
        options.lowConfidenceThreshold = lowConfidence
        options.modelVersion = modelVersion
        do {
            try options.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        let ensemble = try selection.loadMembers(tta: 1, precision: precision)
        let served = selection.ensemble ?? selection.models.joined(separator: " + ")
        let server = try PredictionServer(ensemble: ensemble, options: options) { host, port in
            FileHandle.standardError.write(Data("serving \(served) at http://\(host):\(port)/ (API: /openapi.json); Ctrl-C to stop\n".utf8))
        }
        try await server.run()
    }

    /// Seconds from the command line as a Duration, refusing what cannot be one (NaN, ≤ 0, over a day).
    private static func duration(_ seconds: Double, _ option: String) throws -> Duration {
        guard seconds > 0, seconds <= 86_400 else { throw ValidationError("\(option) must be in (0, 86400] seconds, got \(seconds)") }
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }
}
