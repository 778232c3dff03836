/// Something wrong with one row or one image that the loader survived. Real datasets are full of these,
/// so loading records them and goes on; a caller decides whether any of them is fatal.
public struct DatasetProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The row is fine but its image file is not there (the record is kept: its label is still data).
        case missingImage
        /// The label is not one of `DatasetOptions.classes` (the record is dropped).
        case unknownLabel
        /// A later row repeats an image id (the first one is kept).
        case duplicateImage
        /// The path or id would leave the dataset root (the record is dropped).
        case unsafePath
        /// The row cannot be read: wrong column count, empty id, no label (the record is dropped).
        case badRow
    }

    public let kind: Kind
    /// The file the problem was found in (a CSV, or the image itself).
    public let file: String
    /// 1-based line in `file` where the offending row starts, when the problem comes from a row.
    public let line: Int?
    public let detail: String

    public init(kind: Kind, file: String, line: Int?, detail: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.detail = detail
    }

    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(kind.rawValue): \(detail)"
    }
}
