import Dermoscopy
import Foundation

extension FuzzTarget {
    static let csvManifest = dataset("csv-manifest", .csvManifest)
    static let ham10000 = dataset("ham10000", .ham10000)
    static let isic2016 = dataset("isic2016", .isic2016)
    static let isicOneHot = dataset("isic-onehot", .isicOneHot)
    static let isicArchive = dataset("isic-archive", .isicArchive)
    /// Format detection first (the head of the CSV), then whichever reader it picks.
    static let datasetDetect = dataset("dataset-detect", nil)

    /// A label CSV through `DatasetLoader.load`, the one entry point of `dataset inspect`, `split` and
    /// `train`: the RFC 4180 reader, the format's columns, path safety, duplicates, classes. Files
    /// are not looked for (`checkFiles` off), so only the CSV's bytes decide what happens. Every
    /// record must then be a usable one: an id, a label among the classes, a path inside the root
    /// in one spelling.
    private static func dataset(_ name: String, _ format: DatasetFormat?) -> FuzzTarget {
        FuzzTarget(name: name, summary: "DatasetLoader.load: " + (format.map { "\($0.rawValue) reader" } ?? "format detection, then its reader")) { bytes in
            var options = DatasetOptions()
            options.format = format
            options.checkFiles = false
            let file = ScratchFile.write(bytes, as: format == .ham10000 ? "HAM10000_metadata.csv" : "labels.csv")
            guard let dataset = try? DatasetLoader.load(file, options: options) else { return }
            invariant(format == nil || dataset.format == format, "read as \(dataset.format)")
            for record in dataset.records {
                invariant(!record.imageID.isEmpty && !record.label.isEmpty && dataset.classes.contains(record.label),
                          "record \(record)")
                invariant(!record.path.hasPrefix("/") && !record.path.split(separator: "/").contains(".."),
                          "path '\(record.path)' leaves the dataset root")
                invariant(!record.path.hasSuffix("/") && !record.path.contains("//"), "path '\(record.path)' has an empty component")
            }
        }
    }
}
