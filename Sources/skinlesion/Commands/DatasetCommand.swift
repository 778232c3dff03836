import ArgumentParser
import Dermoscopy
import Foundation

/// `skinlesion dataset`: look at a dataset and divide it before any training happens.
struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Inspect a dataset or write its lesion-grouped split manifest.",
        subcommands: [Inspect.self, Split.self]
    )
}

/// How to read a dataset; shared by every command that takes one.
struct DatasetArguments: ParsableArguments {
    @Argument(help: "Dataset root folder or CSV file (HAM10000, ISIC 2016/2017/2018, ISIC archive export, CSV manifest, folder per class); several are merged, duplicates by image id dropped.")
    var paths: [String]

    @Option(help: "Dataset format, when detection guesses wrong: \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: DatasetFormat?

    @Option(help: "CSV manifest: column holding the image path.")
    var imageColumn: String?

    @Option(help: "CSV manifest: column holding the label.")
    var labelColumn: String?

    @Option(help: "CSV manifest: column holding an official split.")
    var splitColumn: String?

    @Option(help: "CSV manifest: column holding the lesion (group) id.")
    var groupColumn: String?

    @Option(help: "When merging: rename labels, as FROM=TO pairs separated by commas (e.g. sk=bkl,melanoma=mel).")
    var labelMap: String?

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("give at least one dataset path") }
        _ = try labels()
    }

    /// The dataset, or the merge of all given datasets.
    func load() throws -> Dataset {
        var options = DatasetOptions()
        options.format = format
        options.imageColumn = imageColumn
        options.labelColumn = labelColumn
        options.splitColumn = splitColumn
        options.groupColumn = groupColumn
        return try DatasetLoader.load(merging: paths.map { URL(fileURLWithPath: $0) }, options: options, labelMap: try labels())
    }

    private func labels() throws -> [String: String] {
        guard let labelMap else { return [:] }
        var map: [String: String] = [:]
        for pair in labelMap.split(separator: ",") {
            let parts = pair.split(separator: "=", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--label-map needs FROM=TO pairs separated by commas, got '\(pair)'")
            }
            map[parts[0]] = parts[1]
        }
        return map
    }
}

extension DatasetFormat: ExpressibleByArgument {}
extension GroupKey: ExpressibleByArgument {}

extension DatasetCommand {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Class counts per split, images per lesion, duplicates, missing or unreadable files, image sizes."
        )

        @OptionGroup var dataset: DatasetArguments

        @Option(help: "A split manifest (from `dataset split`) to count classes per split.")
        var manifest: String?

        @Option(help: "Read the sizes of at most this many images (all by default).")
        var sample: Int?

        @Flag(help: "Print JSON instead of a report.")
        var json = false

        func validate() throws { try OneProcess.require("dataset inspect", consequence: "each rank would print the report") }

        func run() throws {
            let loaded = try dataset.load()
            let split = try manifest.map { try SplitManifest.read(from: URL(fileURLWithPath: $0)) }
            let report = DatasetInspector.inspect(loaded, manifest: split, imageSize: { try ImageDecoder.size(contentsOf: $0) },
                                                  sampleLimit: sample)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print("format: \(loaded.format.rawValue)")
                print(report.formatted())
            }
            for problem in loaded.problems.prefix(20) { FileHandle.standardError.write(Data("warning: \(problem)\n".utf8)) }
            if loaded.problems.count > 20 {
                FileHandle.standardError.write(Data("warning: … and \(loaded.problems.count - 20) more problems\n".utf8))
            }
        }
    }

    struct Split: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a split manifest (CSV) grouped by lesion, so no lesion lands in two splits."
        )

        @OptionGroup var dataset: DatasetArguments

        @Option(help: "Where to write the manifest CSV.")
        var output: String

        @Option(help: "Train, validation and test fractions.")
        var fractions = "0.7,0.15,0.15"

        @Option(help: "Keep every image of one group in one split: lesion, patient or image.")
        var groupBy: GroupKey = .lesion

        @Option(help: "Write k cross-validation folds instead of train/val/test.")
        var folds: Int?

        @Flag(help: "Use the dataset's official split column instead of drawing one.")
        var officialSplit = false

        @Flag(help: "Do not stratify by class.")
        var unstratified = false

        @Option(help: "Seed for the split.")
        var seed: UInt64 = 0

        func validate() throws { try OneProcess.require("dataset split") }

        func run() throws {
            let loaded = try dataset.load()
            let manifest: SplitManifest
            if let folds {
                manifest = try Splitter.kFold(loaded, k: folds, groupBy: groupBy, seed: seed)
            } else {
                let parts = fractions.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 3 else {
                    throw ValidationError("--fractions needs three numbers such as 0.7,0.15,0.15, got '\(fractions)'")
                }
                let plan = SplitPlan(fractions: (parts[0], parts[1], parts[2]), groupBy: groupBy, stratified: !unstratified,
                                     seed: seed, useOfficialSplit: officialSplit)
                try plan.validate()
                manifest = try Splitter.split(loaded, plan: plan)
            }
            try manifest.write(to: URL(fileURLWithPath: output))
            let counts = Dictionary(grouping: manifest.entries, by: \.split).mapValues(\.count)
            print(counts.keys.sorted().map { "\($0): \(counts[$0]!)" }.joined(separator: ", ") + " → \(output)")
        }
    }
}
