import ArgumentParser
import Foundation
import Models
import NeuralNet

/// `skinlesion bench`: speed and memory of one architecture on this machine. Progress goes
/// to stderr, the table or JSON to stdout, so `--json > file` captures only the result.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure inference latency, throughput, training speed and memory of an architecture."
    )

    @Option(help: "Architecture to measure (see `skinlesion models`).")
    var arch = "resnet50"

    @Option(help: "Threads for the compute engine (default: OMP_NUM_THREADS or all cores).")
    var threads: Int?

    @Option(help: "Batch size for the throughput and training measurements.")
    var batch = 32

    @Option(help: "Timed runs for batch-1 latency (median reported).")
    var latencyRuns = 20

    @Option(help: "Timed runs for throughput and each training mode (median reported).")
    var runs = 3

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: ArgumentHelp("Number format of the rows: fp32, bf16 or int8.",
                               discussion: "int8 first calibrates the random network on one noise batch and has no training rows; bf16 trains as `train --precision bf16` does (mixed precision)."))
    var precision = Precision.fp32

    @Option(help: ArgumentHelp(
        "Also write the measured network's random initial weights here (safetensors, our parameter names).",
        discussion: "Written before any run, so a peer (benchmarks/architectures.sh's ONNX Runtime) can run the same network with the same values."))
    var saveWeights: String?

    func validate() throws {
        try OneProcess.requireForTiming("bench")
        guard batch >= 2 else { throw ValidationError("--batch must be at least 2 (BatchNorm trains on batch statistics)") }
        guard latencyRuns >= 1, runs >= 1 else { throw ValidationError("--latency-runs and --runs must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        if let threads { Engine.threads = threads }
        let benchmark = ModelBenchmark(architecture: try Architectures.named(arch), precision: precision, batch: batch,
                                       latencyRuns: latencyRuns, throughputRuns: runs,
                                       saveWeights: saveWeights.map { URL(fileURLWithPath: $0) },
                                       log: { FileHandle.standardError.write(Data("bench: \($0)\n".utf8)) })
        let r = try benchmark.run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(r), as: UTF8.self))
            return
        }
        func measured(_ value: Double?, _ format: String) -> String {
            value.map { String(format: format, $0) } ?? "not measured (training is FP32)"
        }
        let rows: [(String, String)] = [
            ("architecture", "\(r.arch), \(r.threads) threads, \(r.precision)"),
            ("CPU ISA (oneDNN)", r.isa),
            ("convolution kernels", r.convolution_implementations.joined(separator: ", ")),
            ("inference latency, batch 1", String(format: "%.1f ms", r.batch1_latency_ms)),
            ("inference throughput, batch \(batch)", String(format: "%.1f img/s", r.batch32_images_per_s)),
            ("training, head only", measured(r.train_head_images_per_s, "%.1f img/s")),
            ("training, last stage + head", measured(r.train_last_stage_images_per_s, "%.1f img/s")),
            ("training, full", measured(r.train_full_images_per_s, "%.2f img/s")),
            ("peak RSS after batch-1 inference", String(format: "%.0f MiB", r.peak_rss_inference_mib)),
            ("peak RSS after full training", measured(r.peak_rss_training_mib, "%.0f MiB")),
        ]
        for (name, value) in rows { print(name.padding(toLength: 36, withPad: " ", startingAt: 0) + value) }
    }
}
