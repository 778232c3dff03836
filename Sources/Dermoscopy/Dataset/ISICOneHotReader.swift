import Foundation

/// ISIC 2017–2019 classification ground truth: an image column and one 0/1 column per class.
///
/// 2018 (`image,MEL,NV,BCC,AKIEC,BKL,DF,VASC`) and 2019 name every class; the label is the marked column,
/// lower-cased to match HAM10000's `dx`. 2017 (`image_id,melanoma,seborrheic_keratosis`) marks only two of
/// its three classes: melanoma → `mel`, seborrheic keratosis → `sk` (HAM10000 folds it into `bkl`; map it
/// with `Dataset.merged(labelMap:)` if wanted), neither → `nv`, the benign nevi that make up the rest.
enum ISICOneHotReader {
    static let imageColumns = ["image", "image_id"]
    static let classColumns: Set<String> = ["mel", "nv", "bcc", "akiec", "ak", "bkl", "df", "vasc", "scc", "unk"]
    private static let isic2017 = [("melanoma", "mel"), ("seborrheic_keratosis", "sk")]
    private static let isic2017Neither = "nv"

    static func recognizes(_ header: CSVHeader) -> Bool {
        header.firstIndex(of: imageColumns) != nil
            && (["mel", "nv", "bcc", "bkl", "df", "vasc"].allSatisfy(header.contains)
                || isic2017.allSatisfy { header.contains($0.0) })
    }

    static func read(_ source: DatasetSource, options: DatasetOptions) throws -> LoadedRows {
        let (file, rows) = try source.readLabelFile()
        guard let headerRow = rows.first else { throw DatasetError(file: file.path, message: "the CSV is empty") }
        let header = CSVHeader(headerRow)
        guard let image = header.firstIndex(of: imageColumns) else {
            throw DatasetError(file: file.path, line: 1, message: "isicOneHot needs an image or image_id column; columns found: \(header.listing)")
        }
        let is2017 = isic2017.allSatisfy { header.contains($0.0) }
        let classes: [(column: Int, label: String)] = is2017
            ? isic2017.map { (header.index(of: $0.0)!, $0.1) }
            : header.names.enumerated().filter { classColumns.contains($0.element.lowercased()) }
                .map { ($0.offset, $0.element.lowercased()) }
        guard !classes.isEmpty else {
            throw DatasetError(file: file.path, line: 1, message:
                "isicOneHot needs class columns (MEL, NV, BCC, AKIEC, BKL, DF, VASC, ...); columns found: \(header.listing)")
        }
        let index = options.checkFiles ? ImageIndex(walking: source.root) : nil
        var loaded = LoadedRows(file: file.path)
        rows: for row in rows.dropFirst() {
            guard loaded.hasFieldCount(row, header.names.count),
                  let id = loaded.fileNameID(row.value(image), line: row.line) else { continue }
            var marked: [String] = []
            for (column, label) in classes {
                guard let value = row.value(column).flatMap(Double.init) else {
                    loaded.report(.badRow, line: row.line, "\(id): \(header.names[column]) is '\(row.fields[column])', not a number")
                    continue rows
                }
                if value >= 0.5 { marked.append(label) }
            }
            let label: String
            switch marked.count {
            case 1: label = marked[0]
            case 0 where is2017: label = isic2017Neither
            case 0:
                loaded.report(.badRow, line: row.line, "\(id): no class is marked")
                continue
            default:
                loaded.report(.badRow, line: row.line, "\(id): \(marked.count) classes are marked (\(marked.joined(separator: ", ")))")
                continue
            }
            loaded.add(DatasetRecord(imageID: id, path: index?.path(for: id) ?? id + ".jpg", label: label), line: row.line)
        }
        return loaded
    }
}
