import NeuralNet

extension FuzzTarget {
    /// The safetensors header and tensor table, through the memory-mapped reader every weight and
    /// model file goes through; whatever it accepts, every tensor must then read back.
    static let safetensors = FuzzTarget(name: "safetensors", summary: "SafeTensorsFile(contentsOf:): header JSON, tensor table, then every tensor") { bytes in
        guard let file = try? SafeTensorsFile(contentsOf: ScratchFile.write(bytes, as: "weights.safetensors")) else { return }
        for entry in file.entries.values {
            let floats = try? file.floats(entry.name)
            invariant(floats?.count == entry.elementCount, "\(entry.name): \(floats?.count ?? -1) floats for \(entry.shape)")
            if entry.dtype == .i64 { invariant((try? file.int64s(entry.name))?.count == entry.elementCount, "\(entry.name) as I64") }
        }
    }
}
