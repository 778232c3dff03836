import Foundation

/// The files of one run (`runs/NAME`): its configuration and command line, the split it used,
/// the per-epoch log, the best model, the last checkpoints and, with `--frozen-precision int8`,
/// the frozen stages' calibration.
public struct RunDirectory: Sendable {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    public var config: URL { url.appendingPathComponent("config.json") }
    public var command: URL { url.appendingPathComponent("command.txt") }
    public var split: URL { url.appendingPathComponent("split.csv") }
    public var logCSV: URL { url.appendingPathComponent("log.csv") }
    public var logJSON: URL { url.appendingPathComponent("log.json") }
    public var bestModel: URL { url.appendingPathComponent("best.safetensors") }
    public var checkpoints: URL { url.appendingPathComponent("checkpoints") }
    /// The activation scales `--frozen-precision int8` calibrated, which a resumed run reuses.
    public var frozenCalibration: URL { url.appendingPathComponent("frozen-int8.json") }

    func checkpoint(step: Int) -> URL {
        checkpoints.appendingPathComponent(String(format: "step-%08d.safetensors", step))
    }

    /// Checkpoints on disk, oldest first.
    public func existingCheckpoints() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
        return names.filter { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") }.sorted()
            .map { checkpoints.appendingPathComponent($0) }
    }

    public func create() throws {
        try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
    }
}
