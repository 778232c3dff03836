import Foundation
import NeuralNet

/// What a `tune` search is: the space, the halving plan, the seed, the metric and every
/// trial's `train` command line. Stored as `tune.json` when the search starts, so that a rerun
/// of the same command resumes it and a different command cannot mix into its trials.
public struct TuningSearch: Codable, Equatable, Sendable {
    public struct Trial: Codable, Equatable, Sendable {
        /// The run directory's name under the search's directory, e.g. `trial-03`.
        public let name: String
        /// The configuration's index in the space's grid.
        public let grid: Int
        /// `lr=1e-3 freeze=layer4`, for people.
        public let label: String
        /// The value of each of the space's options, in its order.
        public let settings: [String]
        /// `train …`: the command line of the trial's run, without the program name.
        public let arguments: [String]

        public init(name: String, grid: Int, label: String, settings: [String], arguments: [String]) {
            (self.name, self.grid, self.label, self.settings, self.arguments) = (name, grid, label, settings, arguments)
        }
    }

    public let space: TuningSpace
    public let plan: SuccessiveHalving
    public let seed: UInt64
    /// The `--monitor` name the trials are ranked by (a `MonitoredMetric` raw value).
    public let monitor: String
    public let trials: [Trial]

    public init(space: TuningSpace, plan: SuccessiveHalving, seed: UInt64, monitor: String, trials: [Trial]) {
        (self.space, self.plan, self.seed, self.monitor, self.trials) = (space, plan, seed, monitor, trials)
    }

    public static func file(in root: URL) -> URL { root.appendingPathComponent("tune.json") }

    /// Makes `root` this search's directory: records the search, or checks that the one it
    /// records is this one.
    public func claim(_ root: URL) throws {
        let file = Self.file(in: root)
        if FileManager.default.fileExists(atPath: file.path) {
            let recorded = try JSONDecoder().decode(Self.self, from: Data(contentsOf: file))
            guard recorded == self else {
                throw TuningError("\(file.path) records another search (its space, trials, epochs, seed or train options "
                                  + "differ); rerun its own command to resume it, or give another --output")
            }
            return
        }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(self), to: file)
    }
}
