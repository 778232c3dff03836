import Dermoscopy
import Foundation
import NeuralNet

/// What `config.json` in a run directory holds: the training configuration plus where the
/// data and starting weights came from, so `train --resume` needs nothing else.
public struct RunSettings: Codable, Sendable {
    public var config: TrainingConfig
    public var dataset: [String]
    public var format: String?
    public var weights: String?
    public var commandLine: [String]
    /// Licences the user stated (`--data-license`), one for every dataset or one per dataset;
    /// nil to keep what the formats say.
    public var dataLicenses: [String]?
    /// `train --folds K`: this directory holds K fold runs (`fold-N/`) rather than one run.
    public var folds: Int?

    public init(config: TrainingConfig, dataset: [String], format: String?, weights: String?, commandLine: [String],
                dataLicenses: [String]? = nil) {
        self.config = config
        self.dataset = dataset
        self.format = format
        self.weights = weights
        self.commandLine = commandLine
        self.dataLicenses = dataLicenses
    }

    /// The datasets' licences: detected from their formats, unless the user stated them.
    public func licenses(of dataset: Dataset) throws -> [DataLicense] {
        guard let stated = dataLicenses, !stated.isEmpty else { return dataset.licenses }
        guard stated.count == 1 || stated.count == dataset.licenses.count else {
            throw TrainingError.badRun("\(stated.count) data licences recorded for \(dataset.licenses.count) datasets; "
                                       + "give one for all or one per dataset")
        }
        return dataset.licenses.enumerated().map { index, detected in
            DataLicense.stated(stated.count == 1 ? stated[0] : stated[index], for: detected.dataset)
        }
    }

    public func write(to run: RunDirectory) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(self), to: run.config)
        try AtomicFile.write(Data((commandLine.joined(separator: " ") + "\n").utf8), to: run.command)
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
