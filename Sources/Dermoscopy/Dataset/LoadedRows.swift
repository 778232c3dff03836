import Foundation

/// What a format reader produced, before the checks every format shares (duplicates, class list, files).
struct LoadedRows {
    let file: String
    private(set) var entries: [(record: DatasetRecord, line: Int?)] = []
    private(set) var problems: [DatasetProblem] = []

    init(file: String) { self.file = file }

    mutating func add(_ record: DatasetRecord, line: Int?) { entries.append((record, line)) }

    mutating func report(_ kind: DatasetProblem.Kind, line: Int?, _ detail: String) {
        problems.append(DatasetProblem(kind: kind, file: file, line: line, detail: detail))
    }

    /// Whether `row` has the header's field count; a ragged row is reported, since its columns cannot be
    /// trusted to mean what the header says.
    mutating func hasFieldCount(_ row: CSVRow, _ expected: Int) -> Bool {
        guard row.fields.count != expected else { return true }
        report(.badRow, line: row.line, "expected \(expected) fields, found \(row.fields.count)")
        return false
    }

    /// The row's image id when it is usable as a file name (formats that build `<id>.jpg`), else reported.
    mutating func fileNameID(_ raw: String?, line: Int) -> String? {
        guard let raw else {
            report(.badRow, line: line, "no image id")
            return nil
        }
        guard PathSafety.isPlainName(raw) else {
            report(.unsafePath, line: line, "image id '\(raw)' is not a plain file name")
            return nil
        }
        return raw
    }

    /// Keeps the first record of each image id and only labels in `options.classes`, then (unless
    /// `checkFiles` is off) reports the images that are not on disk. Those records stay: their labels are
    /// still data, and the problems say which images to fetch.
    func dataset(source: DatasetSource, options: DatasetOptions) -> Dataset {
        var problems = self.problems
        var firstLine: [String: Int?] = [:]
        let allowed = options.classes.map(Set.init)
        var records: [DatasetRecord] = []
        for (record, line) in entries {
            if let first = firstLine[record.imageID] {
                problems.append(DatasetProblem(
                    kind: .duplicateImage, file: file, line: line,
                    detail: "\(record.imageID) repeats an earlier row\(first.map { " (line \($0))" } ?? ""); kept the first"))
                continue
            }
            firstLine[record.imageID] = line
            if let allowed, !allowed.contains(record.label) {
                problems.append(DatasetProblem(
                    kind: .unknownLabel, file: file, line: line,
                    detail: "\(record.imageID) has label '\(record.label)', not one of \(options.classes!.joined(separator: ", "))"))
                continue
            }
            records.append(record)
        }
        var dataset = Dataset(root: source.root, format: source.format, classes: options.classes, records: records)
        if options.checkFiles && source.format != .folderPerClass {
            for record in records where !FileManager.default.fileExists(atPath: dataset.url(of: record).path) {
                problems.append(DatasetProblem(kind: .missingImage, file: file, line: firstLine[record.imageID] ?? nil,
                                               detail: "\(record.imageID): no image at \(record.path)"))
            }
        }
        // Row order, so the report reads top to bottom alongside the file.
        let ordered = problems.enumerated().sorted { ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset) }
        dataset.problems = ordered.map(\.element)
        return dataset
    }
}

extension CSVHeader {
    /// The indices of `columns`, or an error listing what the file has instead.
    func require(_ columns: [String], in file: URL, format: DatasetFormat) throws -> [Int] {
        let missing = columns.filter { !contains($0) }
        guard missing.isEmpty else {
            throw DatasetError(file: file.path, line: 1, message:
                "\(format.rawValue) needs column(s) \(missing.joined(separator: ", ")); columns found: \(listing)")
        }
        return columns.map { index(of: $0)! }
    }

    /// The row's non-empty fields outside `used`, keyed by column name: whatever else the source knows
    /// (age, sex, localization, ...) travels with the record.
    func metadata(of row: CSVRow, excluding used: Set<Int>) -> [String: String] {
        var metadata: [String: String] = [:]
        for (i, name) in names.enumerated() where !used.contains(i) && !name.isEmpty {
            if let value = row.value(i) { metadata[name] = value }
        }
        return metadata
    }
}
