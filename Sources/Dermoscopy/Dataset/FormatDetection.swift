import Foundation

/// Tells the layouts apart from what is on disk: a HAM10000 metadata file, a label CSV's header (or, for
/// ISIC 2016, its first row), or class folders of images.
enum FormatDetector {
    static let hamMetadataName = "HAM10000_metadata.csv"

    static func source(for url: URL, options: DatasetOptions) throws -> DatasetSource {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw DatasetError(file: url.path, message: "no such file or directory")
        }
        if isDirectory.boolValue { return try directorySource(url, options: options) }
        let format = try options.format ?? csvFormat(of: url, options: options)
        guard format != .folderPerClass else {
            throw DatasetError(file: url.path, message: "folderPerClass reads a directory of class folders, not a file")
        }
        return DatasetSource(format: format, root: url.deletingLastPathComponent(), labelFile: url)
    }

    private static func directorySource(_ directory: URL, options: DatasetOptions) throws -> DatasetSource {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { !$0.hasPrefix(".") }.sorted()
        let ham = names.first { $0.lowercased() == hamMetadataName.lowercased() }
        let csvs = names.filter { $0.lowercased().hasSuffix(".csv") }
        func labelled(_ name: String, _ format: DatasetFormat) -> DatasetSource {
            DatasetSource(format: format, root: directory, labelFile: directory.appendingPathComponent(name))
        }

        switch options.format {
        case .ham10000?:
            guard let ham else {
                throw DatasetError(file: directory.path, message: "ham10000 needs \(hamMetadataName) in this directory")
            }
            return labelled(ham, .ham10000)
        case .folderPerClass?:
            return DatasetSource(format: .folderPerClass, root: directory, labelFile: nil)
        case let format?:
            guard csvs.count == 1 else {
                throw DatasetError(file: directory.path, message:
                    "\(format.rawValue) needs one CSV here, found \(csvs.count) (\(csvs.joined(separator: ", "))); pass the CSV itself")
            }
            return labelled(csvs[0], format)
        case nil:
            break
        }

        if let ham { return labelled(ham, .ham10000) }
        var csvTrouble = ""
        if csvs.count == 1 {
            do { return labelled(csvs[0], try csvFormat(of: directory.appendingPathComponent(csvs[0]), options: options)) }
            catch let error as DatasetError { csvTrouble = "; \(csvs[0]): \(error.message)" }
        }
        if FolderPerClassReader.hasClassFolders(directory) {
            return DatasetSource(format: .folderPerClass, root: directory, labelFile: nil)
        }
        let found = csvs.isEmpty ? "none" : csvs.joined(separator: ", ")
        throw DatasetError(file: directory.path, message:
            "cannot detect the dataset format: looked for \(hamMetadataName), a single label CSV (found: \(found)), "
            + "or class folders holding .jpg/.jpeg/.png images\(csvTrouble)")
    }

    /// The format of a label CSV, from its first row.
    static func csvFormat(of file: URL, options: DatasetOptions) throws -> DatasetFormat {
        guard let first = try CSVReader.readHead(file, rows: 1).first else {
            throw DatasetError(file: file.path, message: "the CSV is empty")
        }
        let header = CSVHeader(first)
        if ["lesion_id", "image_id", "dx"].allSatisfy(header.contains) { return .ham10000 }
        if header.contains("isic_id") && ISICArchiveReader.labelColumns.contains(where: header.contains) {
            return .isicArchive
        }
        if ISICOneHotReader.recognizes(header) { return .isicOneHot }
        if first.fields.count == 2, ISIC2016Reader.label(first.fields[1]) != nil { return .isic2016 }
        if CSVManifestReader.detectsColumns(in: header, options: options) { return .csvManifest }
        throw DatasetError(file: file.path, line: first.line, message:
            "cannot detect the CSV format: looked for HAM10000 columns (lesion_id, image_id, dx), an ISIC archive export "
            + "(isic_id with diagnosis or benign_malignant), ISIC one-hot columns (image + MEL, NV, BCC, BKL, DF, VASC, "
            + "or image_id + melanoma, seborrheic_keratosis), headerless ISIC 2016 rows (id,benign|malignant|0|1), "
            + "or an image column (\(CSVManifestReader.imageCandidates.joined(separator: "/"))) with a label column "
            + "(\(CSVManifestReader.labelCandidates.joined(separator: "/"))); columns found: \(header.listing)")
    }
}
