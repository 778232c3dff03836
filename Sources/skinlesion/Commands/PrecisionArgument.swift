import ArgumentParser
import NeuralNet

extension Precision: ExpressibleByArgument {
    /// The same words on every command that runs a model.
    static let help = ArgumentHelp(
        "Number format to run every model at: fp32, bf16 or int8 (default: what each model file holds, fp32 unless it was quantized).",
        discussion: "bf16 needs a CPU with AVX512_BF16; int8 needs a file from `skinlesion quantize`. A CPU without the "
            + "instructions gets an error naming them, never a silent fallback.")
}

/// `train --frozen-precision`: its help lists fp32 and int8, the formats it offers; bf16 still
/// parses, so that the training config can say why it is refused (the instruction set this CPU
/// lacks, or that it is not offered yet) instead of a bare "invalid value".
struct FrozenPrecisionArgument: ExpressibleByArgument {
    let precision: Precision

    init(_ precision: Precision) { self.precision = precision }

    init?(argument: String) {
        guard let precision = Precision(rawValue: argument) else { return nil }
        self.precision = precision
    }

    static var allValueStrings: [String] { [Precision.fp32, .int8].map(\.rawValue) }
    var defaultValueDescription: String { precision.rawValue }
}
