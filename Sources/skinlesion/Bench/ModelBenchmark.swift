import Foundation
import Inference
import Models
import NeuralNet

/// Measures one architecture the way the README's peers are measured: batch-1 latency,
/// batch-32 inference throughput, and batch-32 training throughput (forward, loss, backward,
/// SGD step) for head-only, last-stage + head, and full fine-tuning. At bf16 or int8 the
/// inference rows run at that precision (int8 after calibrating the random network on noise);
/// the training rows run at bf16 as `train --precision bf16` does, and int8, an inference
/// format, has none.
struct ModelBenchmark {
    let architecture: Architecture
    var precision = Precision.fp32
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
        var train_head_images_per_s: Double?
        var train_last_stage_images_per_s: Double?
        var train_full_images_per_s: Double?
        var peak_rss_inference_mib: Double
        var peak_rss_training_mib: Double?
        var precision: String
        /// What oneDNN reports for this CPU (`avx512_core_vnni`), and the implementations it
        /// chose for the convolutions (`brgconv:avx512_core_vnni`).
        var isa: String
        var convolution_implementations: [String]
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
        if precision == .int8 {
            log("calibrating int8 on one noise batch")
            var pending: Tensor? = many
            _ = try Quantizer(calibration: .minmax).quantize(model, split: "noise") { defer { pending = nil }; return pending }
        }
        try model.run(at: precision)

        log("batch-1 latency (\(latencyRuns) runs)")
        let latency = try median(runs: latencyRuns, warmup: 3) { _ = try model.forward(one, mode: .inference) }
        let rssInference = peakRSSMiB()

        log("batch-\(batch) inference (\(throughputRuns) runs)")
        let inference = try median(runs: throughputRuns, warmup: 1) { _ = try model.forward(many, mode: .inference) }
        // Only this precision's convolutions: int8's calibration ran FP32 ones before.
        let names = ["fp32": ["conv forward"], "bf16": ["conv forward bf16"], "int8": ["conv forward u8", "conv forward s8"]]
        let implementations = Set(Engine.shared.implementationsByOperation.filter { names[precision.rawValue]!.contains($0.key) }
            .flatMap(\.value)).sorted()
        var result = Result(arch: architecture.name, threads: Engine.threads, batch1_latency_ms: latency * 1000,
                            batch32_images_per_s: Double(batch) / inference, peak_rss_inference_mib: rssInference,
                            precision: precision.rawValue, isa: CPUISA.effective.name,
                            convolution_implementations: implementations)
        guard precision != .int8 else { return result }  // int8 is an inference format
        try model.train(at: precision)  // bf16: mixed-precision training rows

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
        (result.train_head_images_per_s, result.train_last_stage_images_per_s, result.train_full_images_per_s) =
            (training[0], training[1], training[2])
        result.peak_rss_training_mib = peakRSSMiB()
        return result
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
