import Foundation

/// An ISIC archive metadata export (`isic_id`, `diagnosis` or the newer `diagnosis_1..3`, `benign_malignant`,
/// `lesion_id`, `patient_id`, ...). The archive holds several images per lesion and per patient, so the ids are
/// kept for grouped splits.
enum ISICArchiveReader {
    /// Label sources, most specific first: a row's label is the first of these it has a value in, lower-cased
    /// (`diagnosis_3` is the finest level of the new hierarchy; `benign_malignant` the fallback for the many
    /// archive images that carry no diagnosis).
    static let labelColumns = ["diagnosis", "diagnosis_3", "diagnosis_2", "diagnosis_1", "benign_malignant"]

    static func read(_ source: DatasetSource, options: DatasetOptions) throws -> LoadedRows {
        let (file, rows) = try source.readLabelFile()
        guard let headerRow = rows.first else { throw DatasetError(file: file.path, message: "the CSV is empty") }
        let header = CSVHeader(headerRow)
        let image = try header.require(["isic_id"], in: file, format: .isicArchive)[0]
        let labels = labelColumns.compactMap(header.index(of:))
        guard !labels.isEmpty else {
            throw DatasetError(file: file.path, line: 1, message:
                "isicArchive needs one of \(labelColumns.joined(separator: ", ")); columns found: \(header.listing)")
        }
        let lesion = header.index(of: "lesion_id"), patient = header.index(of: "patient_id")
        let used = Set([image] + labels + [lesion, patient].compactMap { $0 })
        let index = options.checkFiles ? ImageIndex(walking: source.root) : nil
        var loaded = LoadedRows(file: file.path)
        for row in rows.dropFirst() {
            guard loaded.hasFieldCount(row, header.names.count),
                  let id = loaded.fileNameID(row.value(image), line: row.line) else { continue }
            guard let label = labels.lazy.compactMap(row.value).first?.lowercased() else {
                loaded.report(.badRow, line: row.line, "\(id) has no diagnosis or benign_malignant")
                continue
            }
            loaded.add(DatasetRecord(imageID: id, path: index?.path(for: id) ?? id + ".jpg", label: label,
                                     lesionID: row.value(lesion), patientID: row.value(patient),
                                     metadata: header.metadata(of: row, excluding: used)),
                       line: row.line)
        }
        return loaded
    }
}
