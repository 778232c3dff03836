import ArgumentParser
import Foundation

/// `skinlesion bench-decode DIR`: images per second of the input pipeline (decode, resize,
/// crop, normalize) on this machine's real files. Progress goes to stderr, the table or JSON
/// to stdout, so `--json > file` captures only the result (`benchmarks/decode.sh` does).
struct BenchDecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-decode",
        abstract: "Measure JPEG decode + resize + normalize throughput on a folder of images."
    )

    @Argument(help: "Folder searched recursively for .jpg/.jpeg files.")
    var directory: String

    @Option(help: "Model input size: shorter side resized to it, then a centre crop of size × size.")
    var size = 224

    @Option(help: "Comma-separated thread counts to measure, e.g. 1,2.")
    var threads = ThreadCounts(values: [1, 2])

    @Option(help: "Timed passes over all files per thread count (median reported).")
    var passes = 3

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Output: Codable {
        var files: Int
        var size: Int
        var runs: [DecodeBenchmark.Run]
    }

    func validate() throws {
        try OneProcess.requireForTiming("bench-decode")
        guard size >= 1 else { throw ValidationError("--size must be at least 1") }
        guard passes >= 1 else { throw ValidationError("--passes must be at least 1") }
    }

    func run() throws {
        let files = DecodeBenchmark.jpegFiles(under: URL(fileURLWithPath: directory))
        guard !files.isEmpty else { throw DecodeBenchmark.Failure(description: "no .jpg or .jpeg files under \(directory)") }
        let benchmark = DecodeBenchmark(files: files, size: size, passes: passes)
        var runs: [DecodeBenchmark.Run] = []
        for count in threads.values {
            FileHandle.standardError.write(Data("bench-decode: \(files.count) files, \(count) thread(s)\n".utf8))
            runs.append(try benchmark.run(threads: count))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Output(files: files.count, size: size, runs: runs)), as: UTF8.self))
            return
        }
        print("\(files.count) files, decode + resize \(size) + centre crop + normalize")
        for run in runs {
            print(String(format: "%2d thread(s)  %7.1f img/s  %5.2f ms/image per thread",
                         run.threads, run.images_per_s, run.ms_per_image_per_thread))
        }
    }
}

/// `--threads 1,2`: the thread counts to measure, in order.
struct ThreadCounts: ExpressibleByArgument {
    let values: [Int]

    init(values: [Int]) { self.values = values }

    init?(argument: String) {
        let values = argument.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.count == argument.split(separator: ",").count, values.allSatisfy({ $0 >= 1 }) else {
            return nil
        }
        self.values = values
    }

    var defaultValueDescription: String { values.map(String.init).joined(separator: ",") }
}
