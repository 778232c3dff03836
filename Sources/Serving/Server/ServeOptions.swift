import Foundation

/// Everything `skinlesion serve` can tune, with defaults sized for a 2-core CPU serving one
/// model: batches fill in a few milliseconds under load and add at most `maxDelay` when idle.
public struct ServeOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests); the bound port is reported once listening.
    public var port = 8080
    /// Images per forward pass; a request's TTA views count as 8.
    public var maxBatch = 16
    /// How long the first queued image waits for others to share its batch.
    public var maxDelay: Duration = .milliseconds(5)
    /// Images (views) the queue holds before answering 429.
    public var queueCapacity = 128
    /// A request still queued after this long is answered 503.
    public var requestTimeout: Duration = .seconds(30)
    /// A connection with nothing happening this long is closed: no request head since it
    /// opened or since its last response, or no body bytes in the middle of an upload.
    public var idleTimeout: Duration = .seconds(30)
    /// A request head (request line and headers) must be complete this long after its first
    /// byte, or the connection is closed: slow-loris clients cannot hold connections for ever.
    public var headerTimeout: Duration = .seconds(10)
    /// Largest request body accepted, in bytes.
    public var maxUploadBytes = 20 << 20
    /// Largest image accepted, in pixels (checked from the header, before decoding).
    public var maxPixels = 50_000_000
    /// Most images in one `/v1/predict/batch` request.
    public var maxBatchImages = 32
    public var lowConfidenceThreshold = 0.5
    /// Reported as `model.version`; defaults to the model file's name without extension.
    public var modelVersion: String?

    public init() {}

    /// Rejects values that cannot work, naming the option.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws {
            if !ok { throw ServeError.invalidOption(message) }
        }
        try require((0...65535).contains(port), "--port must be in 0...65535, got \(port)")
        try require(maxBatch >= 1, "--max-batch must be at least 1, got \(maxBatch)")
        try require(maxDelay >= .zero, "--max-delay-ms must not be negative")
        try require(queueCapacity >= 8, "--queue-capacity must be at least 8 (one TTA request), got \(queueCapacity)")
        try require(requestTimeout > .zero, "--timeout must be positive")
        try require(idleTimeout > .zero, "--idle-timeout must be positive")
        try require(headerTimeout > .zero, "--header-timeout must be positive")
        try require(maxUploadBytes >= 1024, "--max-upload-bytes must be at least 1024, got \(maxUploadBytes)")
        try require(maxPixels >= 1, "--max-pixels must be positive, got \(maxPixels)")
        try require(maxBatchImages >= 1, "--max-batch-images must be at least 1")
        try require((0...1).contains(lowConfidenceThreshold), "--low-confidence must be in [0, 1]")
    }
}

public enum ServeError: Error, CustomStringConvertible {
    case invalidOption(String)

    public var description: String {
        switch self {
        case .invalidOption(let message): message
        }
    }
}
