import ArgumentParser
import Foundation
import NeuralNet
import Training

/// `skinlesion tune`: a frugal hyperparameter search. Each trial is an ordinary `train` run
/// directory (`trial-NN/`), trained by successive halving: every trial trains briefly, the
/// best part goes on. Rerunning the same command resumes the search where it stopped, since
/// where each trial stands is read back from its own checkpoints.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search train options by successive halving; each trial is a normal run directory.",
        discussion: """
            Options after `--` go to every trial's `train` unchanged. Every trial gets the same --seed, so \
            the same split. Rerun the same command to resume. Research use only.
            """
    )

    @Option(name: .customLong("dataset"), parsing: .singleValue, help: "Dataset root or CSV (repeat to merge several).")
    var datasets: [String] = []

    @Option(parsing: .upToNextOption, help: "train options to search, option=value1,value2 each (e.g. lr=3e-4,1e-3 freeze=layer3,layer4 image-size=64,96).")
    var space: [String] = []

    @Option(help: "Configurations to try (default: the whole grid; fewer draw a seeded sample of it).")
    var trials: Int?

    @Option(help: "Epochs the surviving trials train in the end; every trial's schedule spans them.")
    var epochs = 9

    @Option(help: "Epochs of the first rung, which every trial trains.")
    var minEpochs = 1

    @Option(help: "Keep the best 1/N of the trials at each rung, which trains N times as many epochs.")
    var reduction = 2

    @Option(help: "Validation metric the trials are ranked by: balanced-accuracy, accuracy, macro-auc, macro-f1 or loss.")
    var monitor = MonitoredMetric.balancedAccuracy

    @Option(help: "Seed for the sample of the grid and for every trial (split, initialization, shuffling).")
    var seed: UInt64 = 0

    @Option(help: "Directory for the search: tune.json, trials.csv, logs/ and one trial-NN/ run directory per trial.")
    var output: String

    @Option(help: ArgumentHelp("Command each trial's train runs under, split on spaces: \"mpirun -np 2\" trains every trial data-parallel.",
                               discussion: "tune itself runs as one process; under mpirun or srun it stops and says to use this instead."))
    var launcher: String?

    @Argument(parsing: .postTerminator, help: "train options for every trial, after --.")
    var trainArguments: [String] = []

    func validate() throws {
        if datasets.isEmpty { throw ValidationError("--dataset is required") }
        if let trials, trials < 1 { throw ValidationError("--trials must be at least 1, got \(trials)") }
        if epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        try OneProcess.require("tune", consequence: "each rank would run every trial",
                               instead: "to train each trial data-parallel, run it alone with --launcher \"mpirun -np N\"")
        if let launcher { _ = try Launcher(launcher) }
        let space = try TuningSpace(space)
        let owned = TuningSpace.reserved.union(space.dimensions.map(\.option))
        if let clash = trainArguments.first(where: { owned.contains(Self.optionName($0) ?? "") }) {
            throw ValidationError("\(clash) after -- is set by tune itself or by --space; drop it")
        }
    }

    func run() throws {
        let space = try TuningSpace(space)
        let count = min(trials ?? space.gridSize, space.gridSize)
        let plan = try SuccessiveHalving(trials: count, minEpochs: minEpochs, maxEpochs: epochs, reduction: reduction)
        let root = URL(fileURLWithPath: output)
        let search = TuningSearch(space: space, plan: plan, seed: seed, monitor: monitor.rawValue,
                                  trials: space.sample(count, seed: seed).enumerated().map { number, index in
                                      trial(number, grid: index, space: space, root: root)
                                  })
        try Self.validateTrainArguments(search)
        try search.claim(root)
        let launch = try launcher.map(Launcher.init)
        let results = try TuningRunner(search: search, root: root, executable: try Self.executable(), launcher: launch,
                                       threads: Self.value(of: "threads", in: trainArguments)).run()
        try results.write(to: root)
        print(results.table(), terminator: "")
        if let best = results.best {
            let trial = search.trials[best.trial]
            print("best: \(trial.name) (\(trial.label)), val \(monitor.label) \(String(format: "%.4f", best.metric)) "
                  + "after \(best.epochs) epoch\(best.epochs == 1 ? "" : "s"); model \(root.appendingPathComponent(trial.name).path)/best.safetensors")
            print("train it again: " + ((launch?.words ?? []) + ["skinlesion"] + trial.arguments.prefix { $0 != "--output" }
                                        + ["--output", "runs/tuned"]).map(Self.shellQuoted).joined(separator: " "))
        } else {
            throw ValidationError("every trial failed; see \(root.appendingPathComponent("logs").path)")
        }
    }

    /// Trial `number`: grid configuration `grid`, and the `train` command line that runs it.
    private func trial(_ number: Int, grid: Int, space: TuningSpace, root: URL) -> TuningSearch.Trial {
        let picks = space.configuration(grid)
        let name = String(format: "trial-%02d", number)
        let arguments = ["train"] + datasets.flatMap { ["--dataset", $0] }
            + ["--epochs", "\(epochs)", "--monitor", monitor.rawValue, "--seed", "\(seed)"] + trainArguments
            + picks.flatMap { ["--\($0.option)", $0.value] } + ["--output", root.appendingPathComponent(name).path]
        return .init(name: name, grid: grid, label: picks.map { "\($0.option)=\($0.value)" }.joined(separator: " "),
                     settings: picks.map(\.value), arguments: arguments)
    }

    /// Every trial's command line parses as `train` would parse it, before anything trains.
    private static func validateTrainArguments(_ search: TuningSearch) throws {
        for trial in search.trials {
            do { _ = try TrainCommand.parse(Array(trial.arguments.dropFirst())) } catch {
                throw ValidationError("\(trial.name) (\(trial.label)): \(TrainCommand.message(for: error))")
            }
        }
    }

    /// `--name` of an option word (`--name` or `--name=value`), nil for values.
    static func optionName(_ word: String) -> String? {
        guard word.hasPrefix("--") else { return nil }
        return String(word.dropFirst(2).prefix { $0 != "=" })
    }

    /// The value given to `--name` in `words`, if any.
    static func value(of name: String, in words: [String]) -> String? {
        for (index, word) in words.enumerated() where optionName(word) == name {
            if let equals = word.firstIndex(of: "=") { return String(word[word.index(after: equals)...]) }
            return words.indices.contains(index + 1) ? words[index + 1] : nil
        }
        return nil
    }

    /// This binary, to run each trial in a process of its own (its own memory and threads).
    static func executable() throws -> URL {
        URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
    }

    static func shellQuoted(_ word: String) -> String {
        word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=,+:@".contains($0) } ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
