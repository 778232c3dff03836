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

    func validate() throws {
        if cam != nil, image == nil { throw ValidationError("--cam needs --image with one image file") }
        guard tta == 1 || tta == 8 else { throw ValidationError("--tta must be 1 or 8, got \(tta)") }
        guard (0...1).contains(lowConfidence) else { throw ValidationError("--low-confidence must be in [0, 1]") }
    }

    func run() throws {
        let predictor = try Predictor(modelFile: URL(fileURLWithPath: model))
        predictor.lowConfidenceThreshold = lowConfidence
        FileHandle.standardError.write(Data("note: \(predictor.metadata.intendedUse)\n".utf8))
        guard let image else { return try prompt(predictor) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: image, isDirectory: &isDirectory) else {
            throw ValidationError("no file or folder at \(image)")
        }
        if isDirectory.boolValue { return try folder(URL(fileURLWithPath: image), predictor) }
        let url = URL(fileURLWithPath: image)
        let prediction = try predictor.predict(url, tta: tta)
        try show(prediction)
        if let cam { try writeCAM(url, classIndex: prediction.classes.firstIndex(of: prediction.top)!, predictor, to: cam) }
    }

    /// Grad-CAM (Selvaraju et al. 2017) at the backbone's own target layer, over the view the
    /// network saw.
    private func writeCAM(_ url: URL, classIndex: Int, _ predictor: Predictor, to path: String) throws {
        let overlay = try predictor.camOverlay(of: predictor.view(of: url), classIndex: classIndex)
        try PNGEncoder.encode(overlay).write(to: URL(fileURLWithPath: path), options: .atomic)
        FileHandle.standardError.write(Data("Grad-CAM (\(predictor.model.architecture.camLayer)) written to \(path)\n".utf8))
    }

    /// Reads one path per line until end of input; a bad path is reported and the prompt goes on.
    private func prompt(_ predictor: Predictor) throws {
        while true {
            FileHandle.standardError.write(Data("image path (end of input to quit)> ".utf8))
            guard let line = readLine() else { break }
            let path = line.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            guard !path.isEmpty else { continue }
            do {
                try show(predictor.predict(URL(fileURLWithPath: path), tta: tta))
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
        if !json { print(CSVWriter.line(["image", "top", "confidence", "low_confidence"] + predictor.metadata.classNames)) }
        for file in files {
            do {
                let p = try predictor.predict(file, tta: tta)
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
        if json { return try printJSON(p) }
        print("\(p.image): \(p.top) \(String(format: "%.3f", p.confidence))\(p.calibrated ? " (calibrated)" : "")"
              + (p.lowConfidence ? "  LOW CONFIDENCE — refer to a dermatologist" : ""))
        for (name, value) in zip(p.classes, p.probabilities).sorted(by: { $0.1 > $1.1 }) {
            print("  " + name.padding(toLength: 8, withPad: " ", startingAt: 0) + String(format: "%.4f ", value)
                  + String(repeating: "█", count: Int((value * 40).rounded())))
        }
    }
}
