import Foundation

public enum DatasetInspector {
    /// Builds the report. `imageSize` is injected so the library needs no decoder here (the CLI passes a
    /// header-only reader, tests a stub); an image whose size cannot be read counts as unreadable. Every file
    /// is checked for existence, but with `sampleLimit` only that many sizes are read, spread evenly over the
    /// records so every part of the dataset is represented.
    public static func inspect(_ dataset: Dataset, manifest: SplitManifest? = nil,
                               imageSize: (URL) throws -> (width: Int, height: Int),
                               sampleLimit: Int? = nil) -> InspectionReport {
        let records = dataset.records
        let lesionIDs = records.compactMap(\.lesionID)
        var imagesPerLesion: [Int: Int] = [:]
        for (_, count) in Dictionary(grouping: lesionIDs, by: { $0 }).mapValues(\.count) { imagesPerLesion[count, default: 0] += 1 }

        var missing: [String] = []
        var present: [DatasetRecord] = []
        for record in records {
            if FileManager.default.fileExists(atPath: dataset.url(of: record).path) { present.append(record) } else { missing.append(record.path) }
        }
        var sizes: [(width: Int, height: Int)] = []
        var unreadable: [InspectionReport.UnreadableFile] = []
        for record in sample(present, limit: sampleLimit) {
            do { sizes.append(try imageSize(dataset.url(of: record))) } catch {
                unreadable.append(.init(path: record.path, reason: String(describing: error)))
            }
        }

        return InspectionReport(
            images: records.count,
            lesions: lesionIDs.isEmpty ? nil : Set(lesionIDs).count,
            classes: dataset.classes,
            classCounts: classCounts(dataset, manifest: manifest),
            imagesPerLesion: imagesPerLesion,
            duplicates: dataset.problems.filter { $0.kind == .duplicateImage }.map(\.description),
            missingFiles: missing,
            unreadableFiles: unreadable,
            imageSizes: statistics(sizes),
            problemCounts: Dictionary(grouping: dataset.problems, by: \.kind.rawValue).mapValues(\.count))
    }

    private static func sample(_ records: [DatasetRecord], limit: Int?) -> [DatasetRecord] {
        guard let limit, limit < records.count else { return records }
        guard limit > 0 else { return [] }
        return (0..<limit).map { records[$0 * records.count / limit] }
    }

    private static func classCounts(_ dataset: Dataset, manifest: SplitManifest?) -> [InspectionReport.SplitCounts] {
        let classIndex = Dictionary(dataset.classes.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let splitOf = manifest.map { Dictionary($0.entries.map { ($0.imageID, $0.split) }, uniquingKeysWith: { first, _ in first }) }
        var counts: [String: [Int]] = [:]
        for record in dataset.records {
            let split = splitOf.map { $0[record.imageID] ?? "unassigned" } ?? "all"
            var row = counts[split] ?? [Int](repeating: 0, count: dataset.classes.count)
            if let index = classIndex[record.label] { row[index] += 1 }
            counts[split] = row
        }
        return counts.keys.sorted(by: OfficialSplitName.precedes).map { .init(split: $0, counts: counts[$0]!) }
    }

    private static func statistics(_ sizes: [(width: Int, height: Int)]) -> InspectionReport.SizeStatistics? {
        guard !sizes.isEmpty else { return nil }
        let widths = sizes.map(\.width), heights = sizes.map(\.height)
        var frequency: [String: InspectionReport.ImageSize] = [:]
        for size in sizes { frequency["\(size.width)x\(size.height)", default: .init(width: size.width, height: size.height, count: 0)].count += 1 }
        let common = frequency.values.sorted { ($1.count, $0.width, $0.height) < ($0.count, $1.width, $1.height) }
        return InspectionReport.SizeStatistics(
            measured: sizes.count,
            minWidth: widths.min()!, maxWidth: widths.max()!, meanWidth: Double(widths.reduce(0, +)) / Double(sizes.count),
            minHeight: heights.min()!, maxHeight: heights.max()!, meanHeight: Double(heights.reduce(0, +)) / Double(sizes.count),
            mostCommon: Array(common.prefix(5)))
    }
}
