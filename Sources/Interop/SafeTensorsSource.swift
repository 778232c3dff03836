import Foundation
import Models
import NeuralNet

/// safetensors with the architecture's own names (`conv1.weight`, `_fc.bias`), as
/// `safetensors.torch.save_file(model.state_dict())` writes them and SkinLesion saves models.
public struct SafeTensorsSource: WeightSource {
    public let file: SafeTensorsFile
    public var format: String { "safetensors" }

    /// An 8-byte little-endian header length that fits the file, then the JSON header's `{`.
    public static func recognizes(_ probe: ContentProbe) -> Bool {
        guard probe.prefix.count >= 9 else { return false }
        let length = probe.prefix.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        return length >= 2 && length <= probe.fileSize - 8 && probe.prefix[8] == UInt8(ascii: "{")
    }

    public init(contentsOf url: URL) throws { file = try SafeTensorsFile(contentsOf: url) }

    public func stateDict(for architecture: Architecture) throws -> StateDict { StateDict(file) }
}
