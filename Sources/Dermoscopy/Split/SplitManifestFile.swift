import Foundation
import NeuralNet

/// The manifest on disk: a plain CSV (`image_id,path,label,lesion_id,patient_id,split[,fold]`) that any tool
/// can read, preceded by `#classes`, `#seed` and `#plan` lines (skip them with e.g. pandas' `comment='#'`).
extension SplitManifest {
    private static let columns = ["image_id", "path", "label", "lesion_id", "patient_id", "split"]

    /// Writes through `AtomicFile`, so a crash or a full disk never leaves a half-written manifest where a
    /// training run would read it.
    public func write(to url: URL) throws {
        let hasFolds = entries.contains { $0.fold != nil }
        var lines = [
            CSVWriter.line(["#classes"] + classes),
            CSVWriter.line(["#seed", String(seed)]),
            CSVWriter.line(["#plan", plan]),
            CSVWriter.line(Self.columns + (hasFolds ? ["fold"] : [])),
        ]
        for entry in entries {
            let fields = [entry.imageID, entry.path, entry.label, entry.lesionID ?? "", entry.patientID ?? "", entry.split]
            lines.append(CSVWriter.line(fields + (hasFolds ? [entry.fold.map(String.init) ?? ""] : [])))
        }
        try AtomicFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: url)
    }

    public static func read(from url: URL) throws -> SplitManifest {
        let rows = try CSVReader.read(url)
        var classes: [String] = []
        var seed: UInt64 = 0
        var plan = ""
        var rest = rows[...]
        while let row = rest.first, row.fields[0].hasPrefix("#") {
            switch row.fields[0] {
            case "#classes": classes = Array(row.fields.dropFirst())
            case "#seed":
                guard let value = row.value(1).flatMap(UInt64.init) else {
                    throw DatasetError(file: url.path, line: row.line, message: "#seed is not an unsigned integer")
                }
                seed = value
            case "#plan": plan = row.fields.dropFirst().first ?? ""
            default: break
            }
            rest = rest.dropFirst()
        }
        guard let headerRow = rest.first else { throw DatasetError(file: url.path, message: "the manifest has no header row") }
        let header = CSVHeader(headerRow)
        let missing = ["image_id", "split"].filter { !header.contains($0) }
        guard missing.isEmpty else {
            throw DatasetError(file: url.path, line: headerRow.line, message:
                "a split manifest needs column(s) \(missing.joined(separator: ", ")); columns found: \(header.listing)")
        }
        // Raw fields, not trimmed ones: what was written (quoted if it had surrounding spaces) reads back as is.
        func field(_ row: CSVRow, _ name: String) -> String? {
            guard let index = header.index(of: name), !row.fields[index].isEmpty else { return nil }
            return row.fields[index]
        }
        var entries: [Entry] = []
        for row in rest.dropFirst() {
            guard row.fields.count == header.names.count else {
                throw DatasetError(file: url.path, line: row.line, message: "expected \(header.names.count) fields, found \(row.fields.count)")
            }
            guard let id = field(row, "image_id"), let split = field(row, "split") else {
                throw DatasetError(file: url.path, line: row.line, message: "image_id and split must not be empty")
            }
            var fold: Int?
            if let text = field(row, "fold") {
                guard let value = Int(text), value >= 0 else {
                    throw DatasetError(file: url.path, line: row.line, message: "fold '\(text)' is not a non-negative integer")
                }
                fold = value
            }
            entries.append(Entry(imageID: id, path: field(row, "path") ?? "", label: field(row, "label") ?? "",
                                 lesionID: field(row, "lesion_id"), patientID: field(row, "patient_id"),
                                 split: split, fold: fold))
        }
        return SplitManifest(entries: entries, classes: classes, seed: seed, plan: plan)
    }
}
