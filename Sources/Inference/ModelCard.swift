import Dermoscopy
import Foundation

/// A model card (Mitchell et al. 2019) written from what the model file records, so it can
/// never drift from the weights it describes.
public enum ModelCard {
    public static func markdown(_ metadata: ModelMetadata, file: String) -> String {
        var lines = ["# Model card: \(file)", "",
                     "## Intended use", "", metadata.intendedUse, "",
                     "It is a research tool for studying dermatoscopic image classification. Its outputs are probabilities "
                     + "from a statistical model trained on a limited dataset; they are not a diagnosis.", "",
                     "## Model", "",
                     "- Architecture: \(metadata.architecture), input \(metadata.inputSize)×\(metadata.inputSize), "
                     + "preprocessing \(metadata.preprocessing.mode)",
                     "- Classifier head: \(metadata.head)",
                     "- Classes (\(metadata.classNames.count)): \(metadata.classNames.joined(separator: ", "))",
                     "- Calibration: " + (metadata.temperature.map { String(format: "temperature %.4f (fitted on a validation split)", $0) }
                                           ?? "none (run `skinlesion calibrate`)"),
                     "- File format version: \(metadata.formatVersion)", ""]
        if let q = metadata.quantization {
            lines.insert("- Precision: int8, post-training static quantization of \(q.layers.count) convolutions (BatchNorm folded, "
                         + "per-channel s8 weights, activation scales calibrated by \(q.calibration.rawValue) on \(q.images) images "
                         + "of the '\(q.split)' split); the head runs in FP32", at: lines.count - 2)
        }
        guard let t = metadata.training else {
            lines += ["## Training", "", "No training record: these weights were imported, not trained by SkinLesion.", "",
                      "## Licence of the data", "",
                      "Not recorded: the licence of the data these weights were trained on is unknown; state it yourself "
                      + "before sharing the model."]
            return lines.joined(separator: "\n") + "\n"
        }
        lines += ["## Data", "",
                  "- Datasets: \(t.datasets.joined(separator: ", "))",
                  "- Split protocol: \(t.splitProtocol)",
                  "- Images per split: " + t.imagesPerSplit.keys.sorted().map { "\($0) \(t.imagesPerSplit[$0]!)" }.joined(separator: ", "),
                  "- Training images per class: " + t.classCounts.keys.sorted().map { "\($0) \(t.classCounts[$0]!)" }.joined(separator: ", "),
                  "",
                  "## Licence of the data", ""]
        if let licenses = t.dataLicenses {
            lines += licenses.map { "- \($0.dataset): \($0.license) (\($0.basis))" } + ["", DataLicense.inheritedTerms(licenses), ""]
        } else {
            lines += ["Not recorded (a model file from before licences were recorded); state it yourself before sharing the model.", ""]
        }
        lines += ["## Training", "",
                  "- Settings: \(t.settings)",
                  "- Epochs trained: \(t.epochsTrained); model kept from epoch \(t.bestEpoch), the best validation \(t.selectionMetric)", "",
                  "## Metrics", "",
                  "Measured on the **validation** split, which also chose the epoch, so they are optimistic. "
                  + "Report test-split figures from `skinlesion evaluate` instead.", "",
                  String(format: "- Balanced accuracy (ISIC metric): %.4f", t.validationBalancedAccuracy),
                  String(format: "- Accuracy: %.4f", t.validationAccuracy),
                  "- Macro ROC AUC: " + (t.validationMacroAUC.map { String(format: "%.4f", $0) } ?? "n/a"), "",
                  "## Limitations", "",
                  "- Trained on dermatoscopic images; clinical (non-dermatoscopic) photographs are out of distribution.",
                  "- Public dermoscopy datasets over-represent light skin types; performance on darker skin is unknown.",
                  "- Classes outside the list above are always mapped to one of them.",
                  "- Small classes have few validation images, so their per-class figures are uncertain."]
        return lines.joined(separator: "\n") + "\n"
    }
}
