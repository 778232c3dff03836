import Foundation

/// What `config.json` in a run directory holds: the training configuration plus where the
/// data and starting weights came from, so `train --resume` needs nothing else.
public struct RunSettings: Codable, Sendable {
    public var config: TrainingConfig
    public var dataset: [String]
    public var format: String?
    public var weights: String?
    public var commandLine: [String]
    /// `train --folds K`: this directory holds K fold runs (`fold-N/`) rather than one run.
    public var folds: Int?

    public init(config: TrainingConfig, dataset: [String], format: String?, weights: String?, commandLine: [String]) {
        self.config = config
        self.dataset = dataset
        self.format = format
        self.weights = weights
        self.commandLine = commandLine
    }

    public func write(to run: RunDirectory) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: run.config, options: .atomic)
        try Data((commandLine.joined(separator: " ") + "\n").utf8).write(to: run.command, options: .atomic)
    }

    public static func read(from run: RunDirectory) throws -> RunSettings {
        guard let data = try? Data(contentsOf: run.config) else {
            throw TrainingError.badRun("\(run.url.path) is not a run directory (no config.json)")
        }
        do {
            return try JSONDecoder().decode(RunSettings.self, from: data)
        } catch {
            throw TrainingError.badRun("\(run.config.path) cannot be read: \(error)")
        }
    }
}
