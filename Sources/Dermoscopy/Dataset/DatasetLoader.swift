import Foundation

/// Reads any supported dataset layout into a `Dataset`. Row-level trouble becomes `DatasetProblem`s so one bad
/// line never costs the other ten thousand; only a source that cannot be read at all throws `DatasetError`.
public enum DatasetLoader {
    /// The format of a directory or CSV file; the error says what was looked for when nothing matches.
    public static func detectFormat(at url: URL) throws -> DatasetFormat {
        try FormatDetector.source(for: url, options: DatasetOptions()).format
    }

    public static func load(_ url: URL, options: DatasetOptions = .init()) throws -> Dataset {
        let source = try FormatDetector.source(for: url, options: options)
        let rows: LoadedRows
        switch source.format {
        case .ham10000: rows = try HAM10000Reader.read(source, options: options)
        case .isic2016: rows = try ISIC2016Reader.read(source, options: options)
        case .isicOneHot: rows = try ISICOneHotReader.read(source, options: options)
        case .isicArchive: rows = try ISICArchiveReader.read(source, options: options)
        case .csvManifest: rows = try CSVManifestReader.read(source, options: options)
        case .folderPerClass: rows = FolderPerClassReader.read(source)
        }
        return rows.dataset(source: source, options: options)
    }

    /// Loads each path with the same options; several are merged (labels renamed through
    /// `labelMap`, later duplicates by image id dropped and listed as problems).
    public static func load(merging urls: [URL], options: DatasetOptions = .init(), labelMap: [String: String] = [:]) throws -> Dataset {
        let datasets = try urls.map { try load($0, options: options) }
        guard datasets.count > 1 else {
            guard let only = datasets.first else { throw DatasetError(file: "", line: nil, message: "no dataset path given") }
            return only
        }
        return Dataset.merged(datasets, labelMap: labelMap)
    }
}

/// Where a dataset's labels are and what they look like.
struct DatasetSource {
    let format: DatasetFormat
    /// Record paths are relative to this directory.
    let root: URL
    /// The label CSV; nil for folder-per-class, where the folders are the labels.
    let labelFile: URL?

    /// The label CSV's rows; only called for the CSV formats, which always have one.
    func readLabelFile() throws -> (file: URL, rows: [CSVRow]) {
        guard let labelFile else { throw DatasetError(file: root.path, message: "\(format.rawValue) needs a label CSV") }
        return (labelFile, try CSVReader.read(labelFile))
    }
}
