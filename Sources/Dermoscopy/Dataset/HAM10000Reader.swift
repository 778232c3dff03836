import Foundation

/// `HAM10000_metadata.csv` (`lesion_id,image_id,dx,dx_type,age,sex,localization`) with the JPEGs anywhere below
/// the root. `lesion_id` is what makes HAM10000 usable honestly: several images show one lesion.
enum HAM10000Reader {
    static func read(_ source: DatasetSource, options: DatasetOptions) throws -> LoadedRows {
        let (file, rows) = try source.readLabelFile()
        guard let headerRow = rows.first else { throw DatasetError(file: file.path, message: "the CSV is empty") }
        let header = CSVHeader(headerRow)
        let columns = try header.require(["lesion_id", "image_id", "dx"], in: file, format: .ham10000)
        let (lesion, image, dx) = (columns[0], columns[1], columns[2])
        let index = options.checkFiles ? ImageIndex(walking: source.root) : nil
        var loaded = LoadedRows(file: file.path)
        for row in rows.dropFirst() {
            guard loaded.hasFieldCount(row, header.names.count),
                  let id = loaded.fileNameID(row.value(image), line: row.line) else { continue }
            guard let label = row.value(dx)?.lowercased() else {
                loaded.report(.badRow, line: row.line, "\(id) has no dx")
                continue
            }
            loaded.add(DatasetRecord(imageID: id, path: index?.path(for: id) ?? conventionalPath(of: id), label: label,
                                     lesionID: row.value(lesion),
                                     metadata: header.metadata(of: row, excluding: [lesion, image, dx])),
                       line: row.line)
        }
        return loaded
    }

    /// Where the official download keeps an image: ISIC_0024306–ISIC_0029305 in `HAM10000_images_part_1/`,
    /// the later ids in `HAM10000_images_part_2/`. Used when files are not searched (`checkFiles` off) or
    /// not found, so a record still names the place to put the file.
    static func conventionalPath(of id: String) -> String {
        guard id.hasPrefix("ISIC_"), let number = Int(id.dropFirst(5)) else { return id + ".jpg" }
        return "HAM10000_images_part_\(number <= 29305 ? 1 : 2)/\(id).jpg"
    }
}
