/// Counts indexed [true][predicted], and the one-vs-rest tallies that every per-class metric is a ratio of.
struct ConfusionMatrix {
    let counts: [[Int]]
    let total: Int

    init(labels: [Int], predictions: [Int], classes: Int) {
        var counts = Array(repeating: Array(repeating: 0, count: classes), count: classes)
        for (label, prediction) in zip(labels, predictions) { counts[label][prediction] += 1 }
        self.counts = counts
        self.total = labels.count
    }

    func truePositives(_ c: Int) -> Int { counts[c][c] }
    /// Images whose true class is `c` (a row sum).
    func support(_ c: Int) -> Int { counts[c].reduce(0, +) }
    /// Images predicted as `c` (a column sum).
    func predicted(_ c: Int) -> Int { counts.reduce(0) { $0 + $1[c] } }
    func falsePositives(_ c: Int) -> Int { predicted(c) - truePositives(c) }
    func falseNegatives(_ c: Int) -> Int { support(c) - truePositives(c) }
    func trueNegatives(_ c: Int) -> Int { total - support(c) - falsePositives(c) }
}
