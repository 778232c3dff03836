/// A weight file that cannot be read: the file's name, then what is wrong and where, since
/// the message is all a user gets to fix a file that came from elsewhere.
public struct WeightFileError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String

    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
