/// Why an image could not be read, naming the file (or upload) it came from, so a dataset scan
/// over thousands of files says which one to look at and what was wrong with it.
public struct ImageError: Error, CustomStringConvertible, Equatable {
    /// The path of the file, or the name an upload was given.
    public let file: String
    public let message: String

    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
