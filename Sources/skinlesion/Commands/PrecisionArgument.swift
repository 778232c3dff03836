import ArgumentParser
import NeuralNet

extension Precision: ExpressibleByArgument {
    /// The same words on every command that runs a model.
    static let help = ArgumentHelp(
        "Number format to run every model at: fp32, bf16 or int8 (default: what each model file holds, fp32 unless it was quantized).",
        discussion: "bf16 needs a CPU with AVX512_BF16; int8 needs a file from `skinlesion quantize`. A CPU without the "
            + "instructions gets an error naming them, never a silent fallback.")
}

/// A precision option of `train` whose help lists only the formats it offers; every
/// precision still parses, so that the training config can say why one is refused (the
/// instruction set this CPU lacks, or that it is an inference format) instead of a bare
/// "invalid value".
protocol OfferedPrecision: ExpressibleByArgument {
    static var offered: [Precision] { get }
    var precision: Precision { get }
    init(_ precision: Precision)
}

extension OfferedPrecision {
    init?(argument: String) {
        guard let precision = Precision(rawValue: argument) else { return nil }
        self.init(precision)
    }

    static var allValueStrings: [String] { offered.map(\.rawValue) }
    var defaultValueDescription: String { precision.rawValue }
}

/// `train --precision`: fp32 or bf16 mixed precision.
struct TrainingPrecisionArgument: OfferedPrecision {
    static let offered: [Precision] = [.fp32, .bf16]
    let precision: Precision
    init(_ precision: Precision) { self.precision = precision }
}

/// `train --frozen-precision`: fp32 or int8 for the frozen stages.
struct FrozenPrecisionArgument: OfferedPrecision {
    static let offered: [Precision] = [.fp32, .int8]
    let precision: Precision
    init(_ precision: Precision) { self.precision = precision }
}
