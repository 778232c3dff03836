import ArgumentParser
import NeuralNet

extension Precision: ExpressibleByArgument {
    /// The same words on every command that runs a model.
    static let help = ArgumentHelp(
        "Number format to run every model at: fp32, bf16 or int8 (default: what each model file holds, fp32 unless it was quantized).",
        discussion: "bf16 needs a CPU with AVX512_BF16; int8 needs a file from `skinlesion quantize`. A CPU without the "
            + "instructions gets an error naming them, never a silent fallback.")
}
