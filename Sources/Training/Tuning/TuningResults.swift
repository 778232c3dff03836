import Foundation
import NeuralNet

/// Where each trial stood after each rung of a search: its best validation metric so far, the
/// epochs it had trained, or that it failed. Kept in `results.json` as each trial finishes its
/// rung, since a promoted trial's run directory moves on past the rung; written to
/// `trials.csv` and shown as the table `tune` prints.
public struct TuningResults: Sendable {
    public struct Outcome: Sendable, Equatable, Codable {
        /// The best validation metric the trial reached; nil when it failed.
        public let metric: Double?
        public let epochs: Int

        public init(metric: Double?, epochs: Int) { (self.metric, self.epochs) = (metric, epochs) }
    }

    public let search: TuningSearch
    /// `rungs[k][t]`: trial t's outcome at rung k, nil when it was not promoted to rung k.
    public var rungs: [[Outcome?]]

    public init(search: TuningSearch) {
        self.search = search
        rungs = search.plan.budgets.map { _ in [Outcome?](repeating: nil, count: search.trials.count) }
    }

    /// The outcomes recorded so far in `root` (none for a new search).
    public init(search: TuningSearch, resumingFrom root: URL) throws {
        self.init(search: search)
        let file = Self.file(in: root)
        guard FileManager.default.fileExists(atPath: file.path) else { return }
        let recorded = try JSONDecoder().decode([[Outcome?]].self, from: Data(contentsOf: file))
        guard recorded.count == rungs.count, recorded.allSatisfy({ $0.count == search.trials.count }) else {
            throw TuningError("\(file.path) holds \(recorded.count) rungs of results, not this search's "
                              + "\(rungs.count) rungs of \(search.trials.count) trials")
        }
        rungs = recorded
    }

    static func file(in root: URL) -> URL { root.appendingPathComponent("results.json") }

    /// Whether the search's metric ranks higher values first (all but loss).
    public var higherIsBetter: Bool { MonitoredMetric(rawValue: search.monitor)?.higherIsBetter ?? true }

    /// The trial the search chose: the best of the deepest rung that has a result.
    public var best: (trial: Int, metric: Double, epochs: Int)? {
        for rung in rungs.reversed() {
            let ranked = SuccessiveHalving.rank(rung.enumerated().compactMap { trial, outcome in outcome.map { (trial, $0.metric) } },
                                                higherIsBetter: higherIsBetter)
            if let first = ranked.first, let outcome = rung[first], let metric = outcome.metric {
                return (first, metric, outcome.epochs)
            }
        }
        return nil
    }

    /// The columns: trial, each searched option, then each rung's metric.
    private var header: [String] {
        ["trial"] + search.space.dimensions.map(\.option)
            + search.plan.budgets.enumerated().map { "rung \($0.offset + 1) (\($0.element) ep)" }
    }

    private func cells(_ trial: Int, blank: String, failed: String) -> [String] {
        let row = search.trials[trial]
        return [row.name] + row.settings + rungs.map { rung in
            guard let outcome = rung[trial] else { return blank }
            return outcome.metric.map { String(format: "%.4f", $0) } ?? failed
        }
    }

    /// An aligned text table, one trial per line; `—` where a trial was not promoted.
    public func table() -> String {
        let rows = [header] + search.trials.indices.map { cells($0, blank: "—", failed: "failed") }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    /// `results.json`, and `trials.csv` beside it: the table with empty cells where a trial was
    /// not promoted.
    public func write(to root: URL) throws {
        try AtomicFile.write(try JSONEncoder().encode(rungs), to: Self.file(in: root))
        let rows = [header] + search.trials.indices.map { cells($0, blank: "", failed: "failed") }
        let csv = rows.map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
        try AtomicFile.write(Data(csv.utf8), to: root.appendingPathComponent("trials.csv"))
    }

    private static func csvField(_ field: String) -> String {
        field.contains(where: { ",\"\n".contains($0) }) ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
    }
}
