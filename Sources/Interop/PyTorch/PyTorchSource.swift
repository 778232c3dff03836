import Foundation
import Models

/// A `torch.save` checkpoint (`.pth`, `.pt`) whose state dict has the architecture's names,
/// as torchvision's, timm's and lukemelas's models have them.
public struct PyTorchSource: WeightSource {
    public let checkpoint: TorchCheckpoint
    public var format: String { checkpoint.layout.rawValue }

    public static func recognizes(_ probe: ContentProbe) -> Bool {
        probe.zipPaths.map(TorchCheckpoint.isZipCheckpoint) ?? TorchCheckpoint.isLegacy(probe.prefix)
    }

    public init(contentsOf url: URL) throws { checkpoint = try TorchCheckpoint(contentsOf: url) }

    public func stateDict(for architecture: Architecture) throws -> StateDict { checkpoint.stateDict }
}
