import Foundation
import Training

/// Runs a search's rungs: each trial's `train` in a process of its own (its stdout appended to
/// `logs/trial-NN.txt`, its progress bars on our stderr), promoting the best after each rung.
/// A resumed search takes the outcomes it recorded and trains only what is missing; a trial
/// that fails is reported and never promoted, and the search goes on.
struct TuningRunner {
    let search: TuningSearch
    let root: URL
    let executable: URL
    /// What each trial's `train` runs under (`mpirun -np 2`), if anything.
    let launcher: Launcher?
    /// `--threads` for resumed trials, whose other options come from their run directory.
    let threads: String?

    func run() throws -> TuningResults {
        var results = try TuningResults(search: search, resumingFrom: root)
        let budgets = search.plan.budgets
        var clock = EpochClock(plan: search.plan)
        var alive = Array(search.trials.indices)
        for (rung, budget) in budgets.enumerated() {
            log("tune: rung \(rung + 1)/\(budgets.count): \(counted(alive.count, "trial")) to \(counted(budget, "epoch"))")
            for (position, index) in alive.enumerated() {
                let trial = search.trials[index]
                log("tune: rung \(rung + 1), trial \(position + 1)/\(alive.count): \(trial.name) (\(trial.label))")
                let outcome: TuningResults.Outcome, trained: Bool
                if let recorded = results.rungs[rung][index] {
                    (outcome, trained) = (recorded, false)
                } else {
                    (outcome, trained) = try train(trial, to: budget)
                    results.rungs[rung][index] = outcome
                    try results.write(to: root)
                }
                clock.advance(rung: rung, trained: trained)
                log("tune: \(trial.name): " + (outcome.metric.map { String(format: "val %@ %.4f", search.monitor, $0) } ?? "failed")
                    + " after \(counted(outcome.epochs, "epoch"))" + clock.remaining)
            }
            guard rung + 1 < budgets.count else { break }
            alive = search.plan.promote(alive.map { ($0, results.rungs[rung][$0]?.metric) }, higherIsBetter: results.higherIsBetter)
            guard !alive.isEmpty else { break }
            log("tune: promoted to rung \(rung + 2): " + alive.map { search.trials[$0].name }.joined(separator: ", "))
        }
        return results
    }

    /// Trains `trial` to `budget` total epochs (or to its end), unless it is there already (a
    /// search stopped before recording it: a trial goes past a rung only once promoted, so it is
    /// then exactly at the rung); returns where it stands and whether this call trained it.
    private func train(_ trial: TuningSearch.Trial, to budget: Int) throws -> (TuningResults.Outcome, Bool) {
        let run = RunDirectory(root.appendingPathComponent(trial.name))
        if let progress = try run.latestProgress(), progress.finished || progress.epoch >= budget {
            return (.init(metric: progress.bestMetric, epochs: progress.epoch), false)
        }
        var arguments = run.existingCheckpoints().isEmpty
            ? trial.arguments : ["train", "--resume", run.url.path] + (threads.map { ["--threads", $0] } ?? [])
        if budget < search.plan.maxEpochs { arguments += ["--stop-after-epochs", "\(budget)"] }
        let status = try launch(arguments, output: trial.name)
        let progress = try run.latestProgress()
        guard status == 0 else {
            log("tune: \(trial.name) failed (exit \(status)); its output: \(logFile(trial.name).path); it is not promoted")
            return (.init(metric: nil, epochs: progress?.epoch ?? 0), true)
        }
        return (.init(metric: progress?.bestMetric, epochs: progress?.epoch ?? 0), true)
    }

    private func logFile(_ name: String) -> URL { root.appendingPathComponent("logs/\(name).txt") }

    /// Runs this binary with `arguments`, stdout appended to the trial's log; its exit status.
    private func launch(_ arguments: [String], output name: String) throws -> Int32 {
        let file = logFile(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: file.path) { FileManager.default.createFile(atPath: file.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        try handle.seekToEnd()
        handle.write(Data(("$ " + ((launcher?.words ?? []) + ["skinlesion"] + arguments).joined(separator: " ") + "\n").utf8))
        let process = Process()
        if let launcher {
            process.executableURL = launcher.program
            process.arguments = Array(launcher.words.dropFirst()) + [executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        process.standardOutput = handle
        try process.run()
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    }

    private func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    private func counted(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
}

/// The search's progress in trial-epochs (a rung's new epochs for each trial in it), with an
/// ETA from the pace of the epochs this process trained.
struct EpochClock {
    private let perRung: [Int]
    private let total: Int
    private var done = 0, trainedUnits = 0
    private let start = Date()

    init(plan: SuccessiveHalving) {
        let budgets = plan.budgets
        var trials = plan.trials, total = 0
        var perRung: [Int] = []
        for (rung, budget) in budgets.enumerated() {
            perRung.append(budget - (rung == 0 ? 0 : budgets[rung - 1]))
            total += trials * perRung[rung]
            trials = plan.promoted(from: trials)
        }
        self.perRung = perRung
        self.total = total
    }

    mutating func advance(rung: Int, trained: Bool) {
        done += perRung[rung]
        if trained { trainedUnits += perRung[rung] }
    }

    /// `; 12/30 trial-epochs, ETA 4m10s` (no ETA before anything was trained here).
    var remaining: String {
        let elapsed = Date().timeIntervalSince(start)
        let eta = trainedUnits == 0 ? "" : ", ETA " + Self.duration(elapsed / Double(trainedUnits) * Double(max(total - done, 0)))
        return "; \(min(done, total))/\(total) trial-epochs\(eta)"
    }

    private static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
