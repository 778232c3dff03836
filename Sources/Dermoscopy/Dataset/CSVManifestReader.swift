import Foundation

/// Any CSV naming an image path and a label per row, such as DermaMNIST's `image,split,dx,label_index` or a
/// hand-made manifest. Paths are relative to the CSV's directory and may not leave it.
enum CSVManifestReader {
    static let imageCandidates = ["path", "image_path", "filepath", "file_path", "file", "filename", "image", "image_name", "image_id"]
    static let labelCandidates = ["label", "dx", "class", "diagnosis", "target"]
    static let splitCandidates = ["split", "subset"]
    static let groupCandidates = ["lesion_id", "lesion", "group", "group_id"]
    static let patientCandidates = ["patient_id", "patient"]
    /// A separate id column; without one the image's file name (less extension) is its id.
    static let idCandidates = ["image_id", "isic_id", "id"]

    private struct Columns {
        var image, label: Int
        var split, group, patient, id: Int?
    }

    static func detectsColumns(in header: CSVHeader, options: DatasetOptions) -> Bool {
        (options.imageColumn.map(header.contains) ?? (header.firstIndex(of: imageCandidates) != nil))
            && (options.labelColumn.map(header.contains) ?? (header.firstIndex(of: labelCandidates) != nil))
    }

    static func read(_ source: DatasetSource, options: DatasetOptions) throws -> LoadedRows {
        let (file, rows) = try source.readLabelFile()
        guard let headerRow = rows.first else { throw DatasetError(file: file.path, message: "the CSV is empty") }
        let header = CSVHeader(headerRow)
        let columns = try resolveColumns(header, options: options, file: file)
        var loaded = LoadedRows(file: file.path)
        let used = Set([columns.image, columns.label] + [columns.split, columns.group, columns.patient, columns.id].compactMap { $0 })
        for row in rows.dropFirst() {
            guard loaded.hasFieldCount(row, header.names.count) else { continue }
            guard let raw = row.value(columns.image) else {
                loaded.report(.badRow, line: row.line, "no image path")
                continue
            }
            guard let contained = PathSafety.containedPath(raw, in: source.root) else {
                loaded.report(.unsafePath, line: row.line, "path '\(raw)' leaves the dataset root")
                continue
            }
            let path = withExtension(contained, root: source.root, checkFiles: options.checkFiles)
            let id = row.value(columns.id) ?? ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            guard let label = row.value(columns.label) else {
                loaded.report(.badRow, line: row.line, "\(id) has no label")
                continue
            }
            loaded.add(DatasetRecord(imageID: id, path: path, label: label, lesionID: row.value(columns.group),
                                     patientID: row.value(columns.patient),
                                     split: row.value(columns.split).flatMap(OfficialSplitName.normalized),
                                     metadata: header.metadata(of: row, excluding: used)),
                       line: row.line)
        }
        return loaded
    }

    /// Columns named in `options` must exist; the others are looked up among the usual names.
    private static func resolveColumns(_ header: CSVHeader, options: DatasetOptions, file: URL) throws -> Columns {
        func column(_ explicit: String?, _ candidates: [String], _ role: String, required: Bool) throws -> Int? {
            if let explicit {
                guard let index = header.index(of: explicit) else {
                    throw DatasetError(file: file.path, line: 1, message: "no \(role) column '\(explicit)'; columns found: \(header.listing)")
                }
                return index
            }
            let found = header.firstIndex(of: candidates)
            if found == nil && required {
                throw DatasetError(file: file.path, line: 1, message:
                    "csvManifest needs \(role) column (one of \(candidates.joined(separator: ", "))); columns found: \(header.listing)")
            }
            return found
        }
        let image = try column(options.imageColumn, imageCandidates, "an image", required: true)!
        let label = try column(options.labelColumn, labelCandidates, "a label", required: true)!
        let id = header.firstIndex(of: idCandidates)
        return Columns(image: image, label: label,
                       split: try column(options.splitColumn, splitCandidates, "a split", required: false),
                       group: try column(options.groupColumn, groupCandidates, "a group", required: false),
                       patient: try column(options.patientColumn, patientCandidates, "a patient", required: false),
                       id: id == image ? nil : id)
    }

    /// Some manifests list ids rather than file names; an extension-less path gets the first image
    /// extension that exists on disk (`.jpg` when files are not checked or none exists).
    private static func withExtension(_ path: String, root: URL, checkFiles: Bool) -> String {
        guard (path as NSString).pathExtension.isEmpty else { return path }
        if checkFiles {
            for ext in ["jpg", "jpeg", "png"] where FileManager.default.fileExists(atPath: root.appendingPathComponent("\(path).\(ext)").path) {
                return "\(path).\(ext)"
            }
        }
        return path + ".jpg"
    }
}
