import Foundation
@testable import Interop

extension FuzzTarget {
    /// A zip archive (`.keras` files, `torch.save` checkpoints) through ZipArchive, ZIPFoundation
    /// with our bounds: entry count, member size, inflating past the declared size, CRC. A member
    /// that reads is exactly its declared size.
    static let zipArchive = FuzzTarget(name: "zip-archive", summary: "ZipArchive: central directory, members stored or deflated, bounds, CRC") { bytes in
        guard let archive = try? ZipArchive(url: ScratchFile.write(bytes, as: "archive.zip")) else { return }
        for path in archive.paths.prefix(16) {
            guard let data = try? archive.data(path) else { continue }
            invariant(UInt64(data.count) == archive.size(of: path), "'\(path)': \(data.count) bytes, declared \(String(describing: archive.size(of: path)))")
        }
    }

    /// A PyTorch checkpoint, zip or legacy, through the restricted unpickler, the storages and
    /// the state-dict locator, as `train --weights` and `import --from` read it. Every tensor of
    /// an accepted file must read back with as many values as its shape holds.
    static let torchCheckpoint = FuzzTarget(name: "torch-checkpoint", summary: "TorchCheckpoint(contentsOf:): zip or legacy, restricted unpickler, storages, every tensor") { bytes in
        guard let checkpoint = try? TorchCheckpoint(contentsOf: ScratchFile.write(bytes, as: "checkpoint.pth")) else { return }
        for (name, entry) in checkpoint.stateDict.entries {
            let values = try? entry.read()
            invariant(values?.count == entry.elementCount, "\(name): \(values?.count ?? -1) values for \(entry.shape)")
        }
    }
}
