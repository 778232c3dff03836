import Foundation
import Models
import NeuralNet

/// Measures one architecture the way the README's peers are measured: batch-1 latency,
/// batch-32 inference throughput, and batch-32 training throughput (forward, loss, backward,
/// SGD step) for head-only, last-stage + head, and full fine-tuning.
struct ModelBenchmark {
    let architecture: Architecture
    let batch: Int
    let latencyRuns: Int
    let throughputRuns: Int
    /// Where to write the initial weights; nil writes nothing.
    var saveWeights: URL? = nil
    let log: (String) -> Void

    struct Result: Codable {
        var arch: String
        var threads: Int
        var batch1_latency_ms: Double
        var batch32_images_per_s: Double
        var train_head_images_per_s: Double
        var train_last_stage_images_per_s: Double
        var train_full_images_per_s: Double
        var peak_rss_inference_mib: Double
        var peak_rss_training_mib: Double
    }

    func run() throws -> Result {
        let size = architecture.inputSize
        let model = try architecture.build(classes: 7, head: .standard, seed: 1)
        if let saveWeights {
            // Before the training runs change them: these are the values every inference run used.
            var writer = SafeTensorsWriter()
            try model.save(into: &writer)
            try writer.write(to: saveWeights)
            log("weights written to \(saveWeights.path)")
        }
        let one = try Tensor(shape: [1, 3, size, size], values: noise(3 * size * size))
        let many = try Tensor(shape: [batch, 3, size, size], values: noise(batch * 3 * size * size))

        log("batch-1 latency (\(latencyRuns) runs)")
        let latency = try median(runs: latencyRuns, warmup: 3) { _ = try model.forward(one, mode: .inference) }
        let rssInference = peakRSSMiB()

        log("batch-\(batch) inference (\(throughputRuns) runs)")
        let inference = try median(runs: throughputRuns, warmup: 1) { _ = try model.forward(many, mode: .inference) }

        let labels = (0..<batch).map { $0 % model.classes }
        let loss = try SoftmaxCrossEntropy()
        let optimizer = try SGD(learningRate: 1e-4, momentum: 0.9)
        var training: [Double] = []
        let lastStage = model.stages[model.stages.count - 2]
        for (label, stage) in [("head only", model.stages.last!), ("\(lastStage) + head", lastStage), ("full", model.stages[0])] {
            try model.trainFrom(stage: stage)
            log("batch-\(batch) training, \(label) (\(throughputRuns) steps)")
            let seconds = try median(runs: throughputRuns, warmup: 1) {
                let logits = try model.forward(many, mode: .training)
                let result = try loss(logits: logits, labels: labels)
                _ = try model.backward(result.gradient, needsInputGradient: false)
                optimizer.step(model.namedParameters)
            }
            training.append(Double(batch) / seconds)
        }
        return Result(arch: architecture.name, threads: Engine.threads, batch1_latency_ms: latency * 1000,
                      batch32_images_per_s: Double(batch) / inference, train_head_images_per_s: training[0],
                      train_last_stage_images_per_s: training[1], train_full_images_per_s: training[2],
                      peak_rss_inference_mib: rssInference, peak_rss_training_mib: peakRSSMiB())
    }

    /// Median wall time of `runs` calls after `warmup` untimed ones (which build primitives).
    private func median(runs: Int, warmup: Int, _ body: () throws -> Void) throws -> Double {
        for _ in 0..<warmup { try body() }
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times.sorted()[times.count / 2]
    }

    private func noise(_ count: Int) -> [Float] {
        var rng = SeededGenerator(seed: 7)
        return (0..<count).map { _ in rng.nextNormal() }
    }
}

/// Peak resident set size of this process so far (Linux reports KiB).
func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}
