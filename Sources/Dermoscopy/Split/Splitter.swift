import NeuralNet

/// Makes split manifests. Every image of a group (lesion, patient) lands in one split or fold, so no test
/// image has a near-duplicate in training; within that constraint each class is spread by the plan's shares.
public enum Splitter {
    private static let splitNames = ["train", "val", "test"]

    /// Deterministic for a seed: groups are shuffled per class with a stream derived from the seed and the
    /// class name, then assigned greedily by image count (see `GroupAssignment`).
    public static func split(_ dataset: Dataset, plan: SplitPlan) throws -> SplitManifest {
        try plan.validate()
        if plan.useOfficialSplit { return try officialSplit(dataset, plan: plan) }
        let groups = RecordGroup.gather(dataset.records, by: plan.groupBy)
        let shares = [plan.fractions.train, plan.fractions.val, plan.fractions.test]
        var binOfRecord = [Int](repeating: 0, count: dataset.records.count)
        var load = [Int](repeating: 0, count: shares.count)
        for stratum in RecordGroup.strata(groups, stratified: plan.stratified) {
            var generator = SeededGenerator(seed: SeededDraws.seed(plan.seed, salt: SeededDraws.salt(stratum.label)))
            let bins = GroupAssignment.assign(stratum.groups, shares: shares, load: &load, using: &generator)
            for (group, bin) in zip(stratum.groups, bins) { for record in group.members { binOfRecord[record] = bin } }
        }
        let entries = dataset.records.indices.map { SplitManifest.Entry(dataset.records[$0], split: splitNames[binOfRecord[$0]]) }
        return SplitManifest(entries: entries, classes: dataset.classes, seed: plan.seed,
                             plan: plan.summary + fallbackNote(dataset.records, plan.groupBy))
    }

    /// `k` folds (entries in split `fold<i>`, `fold` = i), each group in exactly one, every class spread evenly
    /// by the same greedy balancing as `split`.
    public static func kFold(_ dataset: Dataset, k: Int, groupBy: GroupKey, seed: UInt64) throws -> SplitManifest {
        guard k >= 2 else { throw SplitError(message: "k-fold needs k ≥ 2, got \(k)") }
        let groups = RecordGroup.gather(dataset.records, by: groupBy)
        guard groups.count >= k else {
            throw SplitError(message: "\(k) folds need at least \(k) \(groupBy.rawValue) groups; the dataset has \(groups.count)")
        }
        let shares = [Double](repeating: 1 / Double(k), count: k)
        var foldOfRecord = [Int](repeating: 0, count: dataset.records.count)
        var load = [Int](repeating: 0, count: k)
        for stratum in RecordGroup.strata(groups, stratified: true) {
            var generator = SeededGenerator(seed: SeededDraws.seed(seed, salt: SeededDraws.salt(stratum.label)))
            let folds = GroupAssignment.assign(stratum.groups, shares: shares, load: &load, using: &generator)
            for (group, fold) in zip(stratum.groups, folds) { for record in group.members { foldOfRecord[record] = fold } }
        }
        let entries = dataset.records.indices.map {
            SplitManifest.Entry(dataset.records[$0], split: "fold\(foldOfRecord[$0])", fold: foldOfRecord[$0])
        }
        return SplitManifest(entries: entries, classes: dataset.classes, seed: seed,
                             plan: "\(k) folds grouped by \(groupBy.rawValue), stratified by class, seed \(seed)"
                                + fallbackNote(dataset.records, groupBy))
    }

    /// The records' own split. A group found in two official splits is refused: the source leaks, and
    /// training on it would report inflated numbers. `groupBy: .image` accepts the official split as it is.
    private static func officialSplit(_ dataset: Dataset, plan: SplitPlan) throws -> SplitManifest {
        let unsplit = dataset.records.filter { $0.split == nil }
        if let first = unsplit.first {
            throw SplitError(message: "useOfficialSplit: \(unsplit.count) of \(dataset.records.count) records have no official split (first: \(first.imageID))")
        }
        var splitOfGroup: [String: String] = [:]
        var leaking: [String] = []
        var reported = Set<String>()
        for record in dataset.records {
            let group = plan.groupBy.group(of: record)
            if let earlier = splitOfGroup[group], earlier != record.split!, reported.insert(group).inserted {
                leaking.append("\(group) in \(earlier) and \(record.split!)")
            }
            splitOfGroup[group] = splitOfGroup[group] ?? record.split!
        }
        if !leaking.isEmpty {
            throw SplitError(message: "the official split divides \(leaking.count) group(s) between splits (\(leaking.prefix(3).joined(separator: "; ")))"
                + "; make a grouped split instead, or group by image to accept it")
        }
        let entries = dataset.records.map { SplitManifest.Entry($0, split: $0.split!) }
        return SplitManifest(entries: entries, classes: dataset.classes, seed: plan.seed, plan: plan.summary)
    }

    private static func fallbackNote(_ records: [DatasetRecord], _ key: GroupKey) -> String {
        let count = key.fallbackCount(in: records)
        return count == 0 ? "" : " (\(count) records without a \(key.rawValue) id grouped by a finer key)"
    }
}
