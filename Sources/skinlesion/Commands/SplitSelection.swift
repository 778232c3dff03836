import ArgumentParser
import Dermoscopy
import Foundation

/// Which images to score: a dataset, and optionally one split of a manifest. The manifest
/// defaults to the `split.csv` beside the model when the model came from a run directory, so
/// `evaluate --model runs/x/best.safetensors` scores that run's own test split. A dataset that
/// manifest never described (another test set) is scored on its own official split of that
/// name when it has one, else whole; a manifest that describes only part of the dataset is an
/// error, since which images it leaves out would be a guess.
struct SplitSelection: ParsableArguments {
    @Option(name: .customLong("dataset"), parsing: .singleValue, help: "Dataset root or CSV (repeat to merge several).")
    var datasets: [String] = []

    @Option(help: "Dataset format, when detection guesses wrong.")
    var format: DatasetFormat?

    @Option(help: "Split manifest (default: split.csv beside the model, if any; otherwise every image).")
    var manifest: String?

    @Option(help: "Which split of the manifest to use (default: test for evaluate, val for calibrate).")
    var split: String?

    func validate() throws {
        guard !datasets.isEmpty else { throw ValidationError("--dataset is required") }
    }

    func records(besideModel model: URL, defaultSplit: String) throws -> (Dataset, [DatasetRecord], String) {
        let split = self.split ?? defaultSplit
        var options = DatasetOptions()
        options.format = format
        let dataset = try DatasetLoader.load(merging: datasets.map { URL(fileURLWithPath: $0) }, options: options)
        let beside = model.deletingLastPathComponent().appendingPathComponent("split.csv")
        let manifestURL = manifest.map { URL(fileURLWithPath: $0) } ?? (FileManager.default.fileExists(atPath: beside.path) ? beside : nil)
        guard let manifestURL else { return (dataset, dataset.records, "all images") }
        let runManifest = try SplitManifest.read(from: manifestURL)
        if manifest == nil {
            let described = Set(runManifest.entries.map(\.imageID))
            let covered = dataset.records.filter { described.contains($0.imageID) }.count
            if covered == 0 {
                let official = dataset.records.filter { $0.split == split }
                let note = "\(manifestURL.lastPathComponent) beside the model describes another dataset"
                return official.isEmpty ? (dataset, dataset.records, "all images: \(note)")
                                        : (dataset, official, "the dataset's official '\(split)' split: \(note)")
            }
            guard covered == dataset.records.count else {
                throw ValidationError("\(manifestURL.path) describes \(covered) of this dataset's \(dataset.records.count) images; "
                                      + "give the manifest that covers it with --manifest, or a dataset it describes whole")
            }
        }
        let chosen = runManifest.records(in: split, of: dataset)
        guard !chosen.isEmpty else {
            throw ValidationError("split '\(split)' of \(manifestURL.path) holds no images of this dataset")
        }
        return (dataset, chosen, "split '\(split)' of \(manifestURL.lastPathComponent)")
    }
}
