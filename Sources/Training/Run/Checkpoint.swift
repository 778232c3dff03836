import Foundation
import Models
import NeuralNet

/// Where a run stands, saved with each checkpoint: enough to continue exactly where it stopped.
public struct TrainingProgress: Codable {
    /// The epoch in progress, and the next batch of it to train on.
    public var epoch = 0
    public var batch = 0
    /// Optimizer steps taken so far (drives the schedule and the per-step seeds).
    public var step = 0
    /// Loss summed over the images trained on so far in this epoch, for the epoch's mean.
    public var epochLossSum = 0.0
    public var epochImages = 0
    public var bestMetric: Double?
    public var bestEpoch: Int?
    public var epochsWithoutImprovement = 0
    public var plateau: ReduceOnPlateau?
    public var finished = false
}

/// One checkpoint file: model state under its own names, optimizer state under `optimizer/`,
/// EMA weights under `ema/`, and `TrainingProgress` as JSON metadata. Written through
/// `AtomicFile` (temporary file, fsync, rename, directory fsync), so a kill or a full disk
/// leaves the previous one.
enum Checkpoint {
    static func write(model: Classifier, optimizer: any Optimizer, ema: ExponentialMovingAverage?,
                      progress: TrainingProgress, to url: URL) throws {
        var writer = SafeTensorsWriter()
        try model.save(into: &writer)
        let named = model.namedParameters
        for (key, values) in optimizer.state(named) { try writer.add("optimizer/" + key, shape: [values.count], floats: values) }
        for (key, values) in ema?.state() ?? [:] { try writer.add("ema/" + key, shape: [values.count], floats: values) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]  // byte-identical checkpoints for identical runs
        writer.metadata["progress"] = String(decoding: try encoder.encode(progress), as: UTF8.self)
        try writer.write(to: url)
    }

    static func read(into model: Classifier, optimizer: any Optimizer, ema: ExponentialMovingAverage?,
                     from url: URL) throws -> TrainingProgress {
        let file = try SafeTensorsFile(contentsOf: url)
        let progress = try progress(of: file, at: url)
        try model.load(from: file, skipping: ["optimizer", "ema"])
        func state(_ prefix: String) throws -> [String: [Float]] {
            var state: [String: [Float]] = [:]
            for name in file.names where name.hasPrefix(prefix) { state[String(name.dropFirst(prefix.count))] = try file.floats(name) }
            return state
        }
        try optimizer.restore(state("optimizer/"), for: model.namedParameters)
        if let ema { try ema.restore(state("ema/")) }
        return progress
    }

    /// The `TrainingProgress` a checkpoint file records.
    static func progress(of file: SafeTensorsFile, at url: URL) throws -> TrainingProgress {
        guard let json = file.metadata["progress"],
              let progress = try? JSONDecoder().decode(TrainingProgress.self, from: Data(json.utf8)) else {
            throw TrainingError.badRun("\(url.path): not a SkinLesion training checkpoint (no 'progress' metadata)")
        }
        return progress
    }
}

extension RunDirectory {
    /// Where the run stands: the progress its newest checkpoint records, nil before the first.
    /// Reads only the checkpoint's header (the file is memory-mapped), not its tensors.
    public func latestProgress() throws -> TrainingProgress? {
        guard let newest = existingCheckpoints().last else { return nil }
        return try Checkpoint.progress(of: SafeTensorsFile(contentsOf: newest), at: newest)
    }
}
