import Foundation
import Inference

extension FuzzTarget {
    /// `ensemble.json` as `evaluate --ensemble` reads it (members, weights, TTA, combination).
    /// A manifest that reads must write and read back unchanged.
    static let ensembleManifest = FuzzTarget(name: "ensemble-manifest", summary: "EnsembleManifest.read(from:), then write and read back unchanged") { bytes in
        guard let manifest = try? EnsembleManifest.read(from: ScratchFile.write(bytes, as: "ensemble.json")) else { return }
        let copy = ScratchFile.write(UnsafeRawBufferPointer(start: nil, count: 0), as: "ensemble-copy.json")
        do {
            try manifest.write(to: copy)
            let again = try EnsembleManifest.read(from: copy)
            invariant(again == manifest, "written manifest reads back as \(again), not \(manifest)")
        } catch {
            invariant(false, "a manifest that was read does not write and read back: \(error)")
        }
    }
}
