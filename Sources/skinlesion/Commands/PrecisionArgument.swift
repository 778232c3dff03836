import ArgumentParser
import NeuralNet

extension Precision: ExpressibleByArgument {
    /// The same words on every command that runs a model.
    static let help = ArgumentHelp(
        "Number format to run every model at: fp32, bf16 or int8 (default: what each model file holds, fp32 unless it was quantized).",
        discussion: "bf16 needs a CPU with AVX512_BF16; int8 needs a file from `skinlesion quantize`. A CPU without the "
            + "instructions gets an error naming them, never a silent fallback.")
}

/// `train --precision`: its help lists only fp32 and bf16 (mixed precision), but every
/// precision still parses, so that the training config can say why int8 is refused (an
/// inference format) or bf16 (the instruction set this CPU lacks) instead of a bare
/// "invalid value".
struct TrainingPrecisionArgument: ExpressibleByArgument {
    static let offered: [Precision] = [.fp32, .bf16]
    let precision: Precision

    init(_ precision: Precision) { self.precision = precision }

    init?(argument: String) {
        guard let precision = Precision(rawValue: argument) else { return nil }
        self.init(precision)
    }

    static var allValueStrings: [String] { offered.map(\.rawValue) }
    var defaultValueDescription: String { precision.rawValue }
}
