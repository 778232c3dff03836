import Foundation

/// ISBI 2016 Part 3 ground truth: no header, `ISIC_0000000,benign|malignant` (training) or `ISIC_id,0|1`
/// (test, 1 = malignant). Both spellings become `benign` / `malignant` so the two files share classes.
enum ISIC2016Reader {
    static func label(_ raw: String) -> String? {
        switch CSVReader.trimmed(raw).lowercased() {
        case "benign", "0", "0.0": return "benign"
        case "malignant", "1", "1.0": return "malignant"
        default: return nil
        }
    }

    static func read(_ source: DatasetSource, options: DatasetOptions) throws -> LoadedRows {
        let (file, rows) = try source.readLabelFile()
        let index = options.checkFiles ? ImageIndex(walking: source.root) : nil
        var loaded = LoadedRows(file: file.path)
        for row in rows {
            guard loaded.hasFieldCount(row, 2), let id = loaded.fileNameID(row.value(0), line: row.line) else { continue }
            guard let label = label(row.fields[1]) else {
                loaded.report(.badRow, line: row.line, "\(id): '\(row.fields[1])' is not benign, malignant, 0 or 1")
                continue
            }
            loaded.add(DatasetRecord(imageID: id, path: index?.path(for: id) ?? id + ".jpg", label: label), line: row.line)
        }
        return loaded
    }
}
