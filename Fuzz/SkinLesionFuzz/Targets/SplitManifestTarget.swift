import Dermoscopy
import Foundation

extension FuzzTarget {
    /// A split manifest (`#classes`, `#seed`, `#plan`, then the CSV) as `train` and `evaluate` read
    /// it. What reads must write back and read again unchanged: the manifest is the record of which
    /// image was in which split, and a run resumed from a rewritten copy must see the same split.
    static let splitManifest = FuzzTarget(name: "split-manifest", summary: "SplitManifest.read(from:), then write and read back unchanged") { bytes in
        guard let manifest = try? SplitManifest.read(from: ScratchFile.write(bytes, as: "split.csv")) else { return }
        let copy = ScratchFile.write(UnsafeRawBufferPointer(start: nil, count: 0), as: "split-copy.csv")
        do {
            try manifest.write(to: copy)
            let again = try SplitManifest.read(from: copy)
            invariant(again == manifest, "written manifest reads back as \(again), not \(manifest)")
        } catch {
            invariant(false, "a manifest that was read does not write and read back: \(error)")
        }
    }
}
