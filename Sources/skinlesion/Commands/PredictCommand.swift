import ArgumentParser
import Dermoscopy
import Distributed
import Foundation
import Inference
import NeuralNet

/// `skinlesion predict`: every class's probability for one image, a folder (CSV), or paths
/// typed at a prompt until end of input, as the original predict scripts did. One model, or an
/// ensemble (each member through its own pipeline, metadata spec and TTA) whose combined
/// probabilities are shown, with each member's beside them in `--json`.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify images: one file, a folder (CSV), or paths read from a prompt.",
        discussion: "Research use only: a prediction is not a diagnosis."
    )

    @OptionGroup var selection: ModelSelection
    @Option(help: "Image file or folder; without it, image paths are read from standard input.") var image: String?
    @Option(help: "Test-time augmentation: 1, or 8 to average the 8 dihedral views (every --model's; a manifest sets its own).") var tta = 1
    @Option(help: "Flag predictions whose top probability is below this.") var lowConfidence = 0.5
    @Flag(help: "Print JSON: one object per image, one per line for a folder.") var json = false
    @Option(help: "Write a Grad-CAM heatmap of the top class, blended over the image, to this PNG (single image only; an ensemble's is its first member's, for the ensemble's top class).")
    var cam: String?
    @Option(help: "Patient metadata for a model that fuses it, e.g. age=55,sex=male,site=back (an empty value means missing).")
    var metadata: String?
    @Option(help: "For a folder: a dataset (root or CSV) whose metadata columns go with the images, matched by image id.")
    var metadataFrom: String?
    @Option(help: "Compute threads (default: all cores; under mpirun give each rank its share).") var threads: Int?
    @Option(help: Precision.help) var precision: Precision?

    func validate() throws {
        if cam != nil, image == nil { throw ValidationError("--cam needs --image with one image file") }
        if metadata != nil, metadataFrom != nil { throw ValidationError("give --metadata (one image) or --metadata-from (a folder), not both") }
        guard tta == 1 || tta == 8 else { throw ValidationError("--tta must be 1 or 8, got \(tta)") }
        guard (0...1).contains(lowConfidence) else { throw ValidationError("--low-confidence must be in [0, 1]") }
    }

    /// Under mpirun a folder's images are shared among the ranks and rank 0 prints every rank's
    /// rows in order; one image, the prompt and the rank combination are rank 0's alone.
    func run() throws {
        let world = try World.communicator()
        try world.run { try predict(world) }
    }

    private func predict(_ world: any Communicator) throws {
        if let threads { Engine.threads = threads }
        let ensemble = try selection.loadMembers(tta: tta, precision: precision)
        ensemble.lowConfidenceThreshold = lowConfidence
        if world.isRoot { FileHandle.standardError.write(Data("note: \(ensemble.members[0].predictor.metadata.intendedUse)\n".utf8)) }
        if ensemble.members.count > 1 && world.isRoot {
            note("ensemble of \(ensemble.members.count) (\(ensemble.combination.rawValue)): "
                 + ensemble.members.map { "\($0.name) ×\($0.weight) tta \($0.tta)" }.joined(separator: ", "))
        }
        var isDirectory: ObjCBool = false
        if let image, !FileManager.default.fileExists(atPath: image, isDirectory: &isDirectory) {
            throw ValidationError("no file or folder at \(image)")
        }
        if ensemble.combinesAcrossImages, !isDirectory.boolValue {
            throw ValidationError("the rank combination ranks images against each other: give --image FOLDER (or use mean or geometric)")
        }
        if let image, isDirectory.boolValue, !ensemble.combinesAcrossImages {
            return try folder(URL(fileURLWithPath: image), ensemble, world)
        }
        guard world.isRoot else { return }
        guard let image else { return try prompt(ensemble) }
        if isDirectory.boolValue { return try folder(URL(fileURLWithPath: image), ensemble, SingleProcess()) }
        guard metadataFrom == nil else { throw ValidationError("--metadata-from goes with a folder; for one image give --metadata") }
        let url = URL(fileURLWithPath: image)
        let values = try typedMetadata(ensemble)
        let prediction = try ensemble.predict(url, metadata: values)
        try show(prediction)
        if let cam {
            try writeCAM(url, metadata: values, classIndex: prediction.classes.firstIndex(of: prediction.top)!, ensemble, to: cam)
        }
    }

    /// `--metadata` parsed against the model's spec (an ensemble's: every member's fields); a
    /// fusion model without it gets every field missing, and says so.
    private func typedMetadata(_ ensemble: Ensemble) throws -> [String: String] {
        guard let spec = ensemble.metadataSpec else {
            if metadata != nil || metadataFrom != nil { throw ValidationError("this model was trained without patient metadata; drop --metadata") }
            return [:]
        }
        guard let metadata else {
            note("this model fuses patient metadata (\(spec.names.joined(separator: ", "))); without --metadata every field is missing")
            return [:]
        }
        return try spec.parse(assignments: metadata)
    }

    /// Each image id's metadata from `--metadata-from`, for folder predictions.
    private func datasetMetadata(_ ensemble: Ensemble) throws -> [String: [String: String]]? {
        guard let metadataFrom else {
            if ensemble.takesMetadata { note("this model fuses patient metadata: without --metadata-from every field is missing") }
            return nil
        }
        guard ensemble.takesMetadata else { throw ValidationError("this model was trained without patient metadata; drop --metadata-from") }
        let dataset = try DatasetLoader.load(merging: [URL(fileURLWithPath: metadataFrom)], options: DatasetOptions())
        return Dictionary(dataset.records.map { ($0.imageID, $0.metadata) }, uniquingKeysWith: { first, _ in first })
    }

    private func note(_ text: String) { FileHandle.standardError.write(Data("note: \(text)\n".utf8)) }

    private func reportUnknown(_ p: Prediction) {
        if let unknown = p.unknownMetadata { note("\(p.image): not in the model's categories, encoded as unknown: \(unknown.joined(separator: ", "))") }
    }

    /// Grad-CAM (Selvaraju et al. 2017) at the backbone's own target layer, over the view the
    /// network saw. An ensemble has no single network to explain: its first member's map is
    /// drawn, for the ensemble's top class, and stderr says so.
    private func writeCAM(_ url: URL, metadata values: [String: String], classIndex: Int, _ ensemble: Ensemble, to path: String) throws {
        let predictor = ensemble.members[0].predictor
        if ensemble.members.count > 1 {
            note("Grad-CAM of the first member, \(ensemble.members[0].name), for the ensemble's top class \(ensemble.classNames[classIndex])")
        }
        let vector = predictor.takesMetadata ? try predictor.encodeMetadata(values).vector : nil
        let overlay = try predictor.camOverlay(of: predictor.view(of: url), over: ImageDecoder.decode(contentsOf: url),
                                               metadata: vector, classIndex: classIndex)
        try PNGEncoder.write(overlay, to: URL(fileURLWithPath: path))
        FileHandle.standardError.write(Data("Grad-CAM (\(predictor.model.architecture.camLayer)) written to \(path)\n".utf8))
    }

    /// Reads one path per line until end of input; a bad path is reported and the prompt goes on.
    private func prompt(_ ensemble: Ensemble) throws {
        let values = try typedMetadata(ensemble)
        while true {
            FileHandle.standardError.write(Data("image path (end of input to quit)> ".utf8))
            guard let line = readLine() else { break }
            let path = line.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            guard !path.isEmpty else { continue }
            do {
                try show(ensemble.predict(URL(fileURLWithPath: path), metadata: values))
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            }
        }
    }

    /// Every image under `folder` (recursively): one CSV row each with every class's
    /// probability, or with `--json` one JSON object per line (JSON Lines), as for one image.
    /// Rows stream as images are read, except with `rank`, which combines the whole folder. Each
    /// rank of `world` predicts a contiguous run of the sorted files and rank 0 prints every
    /// rank's rows in rank order, which is one process's output.
    private func folder(_ folder: URL, _ ensemble: Ensemble, _ world: any Communicator) throws {
        let extensions: Set<String> = ["jpg", "jpeg", "png"]
        let files = (FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? [])
            .filter { extensions.contains($0.pathExtension.lowercased()) }.sorted { $0.path < $1.path }
        let metadataByID = try datasetMetadata(ensemble)
        var lines: [String] = []
        // One process streams its rows; ranks hold theirs for rank 0 to print in order.
        let output: (String) -> Void = world.size == 1 ? { print($0) } : { lines.append($0) }
        if !json && world.isRoot { output(CSVWriter.line(["image", "top", "confidence", "low_confidence"] + ensemble.classNames)) }
        var held: [(file: URL, rows: [[Double]], unknown: [String])] = []
        for file in files[world.shard(count: files.count, batchSize: 1)] {
            do {
                let id = file.deletingPathExtension().lastPathComponent
                if let metadataByID, metadataByID[id] == nil { note("\(file.path): no row for \(id) in --metadata-from; every field is missing") }
                let (rows, unknown) = try ensemble.memberProbabilities(of: file, metadata: metadataByID?[id] ?? [:])
                if ensemble.combinesAcrossImages {
                    held.append((file, rows, unknown))
                } else {
                    try emit(file, ensemble.combine(rows.map { [$0] })[0], rows, unknown, ensemble, output)
                }
            } catch {
                FileHandle.standardError.write(Data("skipped \(file.path): \(error)\n".utf8))
            }
        }
        if let all = try world.gather(bytes: Array(lines.map { $0 + "\n" }.joined().utf8), to: 0) {
            FileHandle.standardOutput.write(Data(all.joined()))
        }
        guard !held.isEmpty else { return }
        let combined = try ensemble.combine(ensemble.members.indices.map { m in held.map { $0.rows[m] } })
        for (item, probabilities) in zip(held, combined) {
            do {
                try emit(item.file, probabilities, item.rows, item.unknown, ensemble, output)
            } catch {
                FileHandle.standardError.write(Data("skipped \(item.file.path): \(error)\n".utf8))
            }
        }
    }

    /// One folder image's CSV row or JSON line.
    private func emit(_ file: URL, _ probabilities: [Double], _ rows: [[Double]], _ unknown: [String], _ ensemble: Ensemble,
                      _ output: (String) -> Void) throws {
        let p = try ensemble.prediction(image: file.path, probabilities: probabilities, members: rows, unknown: unknown)
        reportUnknown(p)
        if json { return output(try jsonLine(p)) }
        output(CSVWriter.line([file.path, p.top, String(format: "%.6f", p.confidence), String(p.lowConfidence)]
                              + p.probabilities.map { String(format: "%.6f", $0) }))
    }

    /// One prediction as one line of JSON.
    private func jsonLine(_ p: Prediction) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(p), as: UTF8.self)
    }

    private func show(_ p: Prediction) throws {
        reportUnknown(p)
        if json { return print(try jsonLine(p)) }
        print("\(p.image): \(p.top) \(String(format: "%.3f", p.confidence))\(p.calibrated ? " (calibrated)" : "")"
              + (p.lowConfidence ? "  LOW CONFIDENCE — refer to a dermatologist" : ""))
        for (name, value) in zip(p.classes, p.probabilities).sorted(by: { $0.1 > $1.1 }) {
            print("  " + name.padding(toLength: 8, withPad: " ", startingAt: 0) + String(format: "%.4f ", value)
                  + String(repeating: "█", count: Int((value * 40).rounded())))
        }
        for member in p.members ?? [] {
            let best = member.probabilities.indices.max { member.probabilities[$0] < member.probabilities[$1] }!
            print("  member \(member.model): \(p.classes[best]) \(String(format: "%.3f", member.probabilities[best]))")
        }
    }
}
