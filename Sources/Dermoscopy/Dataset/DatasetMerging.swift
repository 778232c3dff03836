import Foundation

extension Dataset {
    /// Merges several datasets (e.g. HAM10000 + ISIC archive) mapping labels through `labelMap` (source label
    /// → target label; labels not in the map are kept), dropping later duplicates by imageID (recorded as
    /// problems).
    ///
    /// The HAM10000 images are also in the ISIC archive under the same ids; keeping both copies would put one
    /// image in train and test at once, which is exactly the leak lesion-grouped splitting exists to prevent.
    /// The result is rooted at the first dataset and has its format; records of datasets with another root
    /// get absolute paths. Classes are the sorted union of the mapped classes.
    public static func merged(_ datasets: [Dataset], labelMap: [String: String] = [:]) -> Dataset {
        precondition(!datasets.isEmpty, "Dataset.merged needs at least one dataset")
        let first = datasets[0]
        var records: [DatasetRecord] = []
        var problems: [DatasetProblem] = []
        var origin: [String: URL] = [:]
        var classes = Set<String>()
        for dataset in datasets {
            problems += dataset.problems
            classes.formUnion(dataset.classes.map { labelMap[$0] ?? $0 })
            for var record in dataset.records {
                if let earlier = origin[record.imageID] {
                    problems.append(DatasetProblem(
                        kind: .duplicateImage, file: dataset.root.path, line: nil,
                        detail: "\(record.imageID) is already in \(earlier.path); kept that one"))
                    continue
                }
                origin[record.imageID] = dataset.root
                record.label = labelMap[record.label] ?? record.label
                if dataset.root.standardizedFileURL != first.root.standardizedFileURL {
                    record.path = dataset.url(of: record).standardizedFileURL.path
                }
                records.append(record)
            }
        }
        var merged = Dataset(root: first.root, format: first.format, classes: classes.sorted(), records: records,
                             problems: problems)
        merged.licenses = datasets.flatMap(\.licenses)
        return merged
    }
}
