import Dermoscopy
import Foundation

extension FuzzTarget {
    /// A metadata spec (how age, sex and site become a fusion model's input) as `import
    /// --metadata-spec` reads it and a model file stores it, and the `name=value,…` text a user
    /// types for one image, encoded through it. The first line of the input is that text, the rest
    /// the spec's JSON. A spec that decodes must store and decode back unchanged, and every value it
    /// accepts must encode to `width` finite numbers: the vector goes straight into the network.
    static let metadataSpec = FuzzTarget(name: "metadata-spec", summary: "MetadataSpec.decode, parse(assignments:), encode: the fusion model's input") { bytes in
        let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        let assignments = String(decoding: bytes[..<newline], as: UTF8.self)
        guard let spec = try? MetadataSpec.decode(Data(bytes[min(newline + 1, bytes.count)...]), file: "spec.json") else { return }
        do {
            let stored = try MetadataSpec.decode(spec.encoded(), file: "stored")
            invariant(stored == spec, "the spec does not store and read back unchanged")
        } catch {
            invariant(false, "a spec that decoded does not store and read back: \(error)")
        }
        guard let values = try? spec.parse(assignments: assignments) else { return }
        for dropped in [[], Set(spec.features.indices)] {
            guard let (vector, _) = try? spec.encode(values, dropped: dropped) else { continue }
            invariant(vector.count == spec.width && vector.allSatisfy(\.isFinite),
                      "\(assignments) encodes to \(vector) (width \(spec.width))")
        }
    }
}
