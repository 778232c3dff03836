/// A safetensors file (or a tensor handed to the writer) that cannot be used.
///
/// Every error names the file and the offending tensor or field, because a model
/// file comes from outside the program and the message is all a user gets to fix it.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file's last path component (or "safetensors writer" for tensors rejected before a file exists).
    public let file: String
    public let message: String

    public init(file: String, message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
