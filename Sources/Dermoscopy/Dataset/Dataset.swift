import Foundation

/// A loaded dataset: its records and everything that was wrong with the source. Records keep paths relative
/// to `root`, so a dataset folder can move without invalidating split manifests.
public struct Dataset: Sendable {
    public let root: URL
    public let format: DatasetFormat
    /// Class names in label-index order: `DatasetOptions.classes` when given, else the labels sorted, so the
    /// same files always give the same indices.
    public let classes: [String]
    public var records: [DatasetRecord]
    public var problems: [DatasetProblem]
    /// The terms of the images, one entry per source dataset (several once merged): detected
    /// from the format, or replaced by what the user states.
    public var licenses: [DataLicense]

    /// `classes` nil means the distinct labels of `records`, sorted.
    public init(root: URL, format: DatasetFormat, classes: [String]? = nil, records: [DatasetRecord],
                problems: [DatasetProblem] = []) {
        self.root = root
        self.format = format
        self.classes = classes ?? Set(records.map(\.label)).sorted()
        self.records = records
        self.problems = problems
        licenses = [DataLicense.detected(root: root, format: format, classes: self.classes)]
    }

    /// Where the record's image is on disk.
    public func url(of record: DatasetRecord) -> URL {
        record.path.hasPrefix("/") ? URL(fileURLWithPath: record.path) : root.appendingPathComponent(record.path)
    }
}
