import ArgumentParser
import Dermoscopy
import Foundation
import Inference
import NeuralNet

/// `skinlesion predict`: every class's probability for one image, a folder (CSV), or paths
/// typed at a prompt until end of input, as the original predict scripts did.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify images: one file, a folder (CSV), or paths read from a prompt.",
        discussion: "Research use only: a prediction is not a diagnosis."
    )

    @Option(help: "Model file.") var model: String
    @Option(help: "Image file or folder; without it, image paths are read from standard input.") var image: String?
    @Option(help: "Test-time augmentation: 1, or 8 to average the 8 dihedral views.") var tta = 1
    @Option(help: "Flag predictions whose top probability is below this.") var lowConfidence = 0.5
    @Flag(help: "Print JSON: one object per image, one per line for a folder.") var json = false
    @Option(help: "Write a Grad-CAM heatmap of the top class, blended over the image, to this PNG (single image only).")
    var cam: String?
    @Option(help: "Patient metadata for a model that fuses it, e.g. age=55,sex=male,site=back (an empty value means missing).")
    var metadata: String?
    @Option(help: "For a folder: a dataset (root or CSV) whose metadata columns go with the images, matched by image id.")
    var metadataFrom: String?
    @Option(help: Precision.help) var precision: Precision?

    func validate() throws {
        if cam != nil, image == nil { throw ValidationError("--cam needs --image with one image file") }
        if metadata != nil, metadataFrom != nil { throw ValidationError("give --metadata (one image) or --metadata-from (a folder), not both") }
        guard tta == 1 || tta == 8 else { throw ValidationError("--tta must be 1 or 8, got \(tta)") }
        guard (0...1).contains(lowConfidence) else { throw ValidationError("--low-confidence must be in [0, 1]") }
    }

    func run() throws {
        let predictor = try Predictor(modelFile: URL(fileURLWithPath: model), precision: precision)
        predictor.lowConfidenceThreshold = lowConfidence
        FileHandle.standardError.write(Data("note: \(predictor.metadata.intendedUse)\n".utf8))
        guard let image else { return try prompt(predictor) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: image, isDirectory: &isDirectory) else {
            throw ValidationError("no file or folder at \(image)")
        }
        if isDirectory.boolValue { return try folder(URL(fileURLWithPath: image), predictor) }
        guard metadataFrom == nil else { throw ValidationError("--metadata-from goes with a folder; for one image give --metadata") }
        let url = URL(fileURLWithPath: image)
        let values = try typedMetadata(predictor)
        let prediction = try predictor.predict(url, metadata: values, tta: tta)
        try show(prediction)
        if let cam {
            try writeCAM(url, metadata: values, classIndex: prediction.classes.firstIndex(of: prediction.top)!, predictor, to: cam)
        }
    }

    /// `--metadata` parsed against the model's spec; a fusion model without it gets every field missing, and says so.
    private func typedMetadata(_ predictor: Predictor) throws -> [String: String] {
        guard let spec = predictor.metadata.metadataSpec else {
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
    private func datasetMetadata(_ predictor: Predictor) throws -> [String: [String: String]]? {
        guard let metadataFrom else {
            if predictor.takesMetadata { note("this model fuses patient metadata: without --metadata-from every field is missing") }
            return nil
        }
        guard predictor.takesMetadata else { throw ValidationError("this model was trained without patient metadata; drop --metadata-from") }
        let dataset = try DatasetLoader.load(merging: [URL(fileURLWithPath: metadataFrom)], options: DatasetOptions())
        return Dictionary(dataset.records.map { ($0.imageID, $0.metadata) }, uniquingKeysWith: { first, _ in first })
    }

    private func note(_ text: String) { FileHandle.standardError.write(Data("note: \(text)\n".utf8)) }

    private func reportUnknown(_ p: Prediction) {
        if let unknown = p.unknownMetadata { note("\(p.image): not in the model's categories, encoded as unknown: \(unknown.joined(separator: ", "))") }
    }

    /// Grad-CAM (Selvaraju et al. 2017) at the backbone's own target layer, over the view the
    /// network saw.
    private func writeCAM(_ url: URL, metadata values: [String: String], classIndex: Int, _ predictor: Predictor, to path: String) throws {
        let vector = predictor.takesMetadata ? try predictor.encodeMetadata(values).vector : nil
        let overlay = try predictor.camOverlay(of: predictor.view(of: url), over: ImageDecoder.decode(contentsOf: url),
                                               metadata: vector, classIndex: classIndex)
        try PNGEncoder.write(overlay, to: URL(fileURLWithPath: path))
        FileHandle.standardError.write(Data("Grad-CAM (\(predictor.model.architecture.camLayer)) written to \(path)\n".utf8))
    }

    /// Reads one path per line until end of input; a bad path is reported and the prompt goes on.
    private func prompt(_ predictor: Predictor) throws {
        let values = try typedMetadata(predictor)
        while true {
            FileHandle.standardError.write(Data("image path (end of input to quit)> ".utf8))
            guard let line = readLine() else { break }
            let path = line.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            guard !path.isEmpty else { continue }
            do {
                try show(predictor.predict(URL(fileURLWithPath: path), metadata: values, tta: tta))
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            }
        }
    }

    /// Every image under `folder` (recursively): one CSV row each with every class's
    /// probability, or with `--json` one JSON object per line (JSON Lines), as for one image.
    private func folder(_ folder: URL, _ predictor: Predictor) throws {
        let extensions: Set<String> = ["jpg", "jpeg", "png"]
        let files = (FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? [])
            .filter { extensions.contains($0.pathExtension.lowercased()) }.sorted { $0.path < $1.path }
        let metadataByID = try datasetMetadata(predictor)
        if !json { print(CSVWriter.line(["image", "top", "confidence", "low_confidence"] + predictor.metadata.classNames)) }
        for file in files {
            do {
                let id = file.deletingPathExtension().lastPathComponent
                if let metadataByID, metadataByID[id] == nil { note("\(file.path): no row for \(id) in --metadata-from; every field is missing") }
                let p = try predictor.predict(file, metadata: metadataByID?[id] ?? [:], tta: tta)
                reportUnknown(p)
                if json {
                    try printJSON(p)
                } else {
                    print(CSVWriter.line([file.path, p.top, String(format: "%.6f", p.confidence), String(p.lowConfidence)]
                                         + p.probabilities.map { String(format: "%.6f", $0) }))
                }
            } catch {
                FileHandle.standardError.write(Data("skipped \(file.path): \(error)\n".utf8))
            }
        }
    }

    /// One prediction as one line of JSON.
    private func printJSON(_ p: Prediction) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(p), as: UTF8.self))
    }

    private func show(_ p: Prediction) throws {
        reportUnknown(p)
        if json { return try printJSON(p) }
        print("\(p.image): \(p.top) \(String(format: "%.3f", p.confidence))\(p.calibrated ? " (calibrated)" : "")"
              + (p.lowConfidence ? "  LOW CONFIDENCE — refer to a dermatologist" : ""))
        for (name, value) in zip(p.classes, p.probabilities).sorted(by: { $0.1 > $1.1 }) {
            print("  " + name.padding(toLength: 8, withPad: " ", startingAt: 0) + String(format: "%.4f ", value)
                  + String(repeating: "█", count: Int((value * 40).rounded())))
        }
    }
}
