import CDNNL
import Foundation

/// The number format a model runs at: a choice of the engine, not of the layers (DESIGN.md,
/// decision 10). Layers ask for primitives; at `.bf16` the convolutions are created with bf16
/// sources, weights and destinations, at `.int8` with u8/s8 activations, s8 weights and the
/// scales a calibration chose (`ConvQuantization`), and tensors are reordered at the edges.
public enum Precision: String, CaseIterable, Codable, Sendable {
    case fp32, bf16, int8

    /// The least instruction set oneDNN needs to run this precision natively, and the words
    /// for it. BF16 on an AVX-512 CPU without AVX512_BF16 would be emulated by oneDNN at a
    /// fraction of FP32's speed, so it is refused rather than run slowly in silence; INT8 runs
    /// on AVX2 (vpmaddubsw) and is fastest with VNNI.
    public var requiredISA: (isa: CPUISA, words: String)? {
        switch self {
        case .fp32: return nil
        case .bf16: return (.avx512CoreBF16, "AVX-512 with AVX512_BF16 (oneDNN avx512_core_bf16)")
        case .int8: return (.avx2, "AVX2 (oneDNN avx2; AVX512_VNNI or AVX_VNNI make it fast)")
        }
    }

    /// Throws unless `isa` (by default what oneDNN reports for this CPU) runs this precision;
    /// the error names what it needs and what the CPU has, under the `option` that asked for it,
    /// and suggests int8 instead of bf16 where the CPU runs it and `int8Offered` (not for an
    /// architecture the int8 path does not cover).
    /// bf16 on AVX-512 without AVX512_BF16 passes only when `SKINLESION_BF16_EMULATION=1` asked
    /// for oneDNN's emulation (`isEmulated(on:)` says so, and the commands warn).
    public func requireSupported(by isa: CPUISA = .effective, option: String = "--precision", int8Offered: Bool = true) throws {
        guard let required = requiredISA, !isa.includes(required.isa), !isEmulated(on: isa) else { return }
        throw NeuralNetError.invalidArgument(
            "\(option) \(rawValue) needs \(required.words), but oneDNN reports \(isa.name) on this CPU; use \(option) fp32"
                + (self == .bf16 && isa.includes(.avx2) && int8Offered ? " or int8" : "")
                + (self == .bf16 && isa.includes(.avx512Core)
                    ? " (or set SKINLESION_BF16_EMULATION=1 to check bf16's numbers through oneDNN's slower emulation)" : ""))
    }

    /// Throws unless training can run at this precision on `isa`: fp32, or bf16 where
    /// `requireSupported` passes; int8 is an inference format. The one check behind
    /// `train --precision` and `Layer.train(at:)`.
    public func requireTrainable(by isa: CPUISA = .effective) throws {
        guard self != .int8 else {
            throw NeuralNetError.invalidArgument("--precision int8 is an inference format (skinlesion quantize makes int8 model "
                                                 + "files); training runs fp32 or bf16")
        }
        try requireSupported(by: isa, option: "--precision", int8Offered: false)   // int8 is no training format
    }

    /// Whether this precision would run through oneDNN's emulation on `isa`: bf16 on AVX-512
    /// without AVX512_BF16, when the environment sets `SKINLESION_BF16_EMULATION=1`. Emulation
    /// rounds to bf16 exactly as the native instructions do, so it shows what bf16 does to a
    /// model's quality, but it runs several times slower than fp32: never a way to be fast.
    public func isEmulated(on isa: CPUISA = .effective) -> Bool {
        self == .bf16 && !isa.includes(.avx512CoreBF16) && isa.includes(.avx512Core) && Precision.bf16EmulationRequested
    }

    static var bf16EmulationRequested: Bool { getenv("SKINLESION_BF16_EMULATION").map { String(cString: $0) == "1" } ?? false }
}

/// An instruction-set level as oneDNN counts them (`dnnl_cpu_isa_t`): each level's bits
/// include those of the levels below it on its line, so "includes" is a bit-mask test.
public struct CPUISA: Equatable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let sse41 = CPUISA(rawValue: dnnl_cpu_isa_sse41.rawValue)
    public static let avx2 = CPUISA(rawValue: dnnl_cpu_isa_avx2.rawValue)
    public static let avx2VNNI = CPUISA(rawValue: dnnl_cpu_isa_avx2_vnni.rawValue)
    public static let avx512Core = CPUISA(rawValue: dnnl_cpu_isa_avx512_core.rawValue)
    public static let avx512CoreVNNI = CPUISA(rawValue: dnnl_cpu_isa_avx512_core_vnni.rawValue)
    public static let avx512CoreBF16 = CPUISA(rawValue: dnnl_cpu_isa_avx512_core_bf16.rawValue)
    public static let avx512CoreAMX = CPUISA(rawValue: dnnl_cpu_isa_avx512_core_amx.rawValue)

    /// The most capable instruction set oneDNN dispatches to on this CPU (it honours
    /// ONEDNN_MAX_CPU_ISA, so a BF16 machine can be made to behave like an older one).
    public static var effective: CPUISA { CPUISA(rawValue: dnnl_get_effective_cpu_isa().rawValue) }

    public func includes(_ other: CPUISA) -> Bool { rawValue & other.rawValue == other.rawValue }

    /// Whether int8 products accumulate in 32 bits directly (AVX512_VNNI or AVX_VNNI).
    public var hasVNNI: Bool { includes(.avx512CoreVNNI) || includes(.avx2VNNI) }

    /// oneDNN's own spelling (`avx512_core_vnni`), as its verbose log prints it.
    public var name: String {
        let names: [(CPUISA, String)] = [
            (.avx512CoreAMX, "avx512_core_amx"), (.avx512CoreBF16, "avx512_core_bf16"),
            (.avx512CoreVNNI, "avx512_core_vnni"), (.avx512Core, "avx512_core"), (.avx2VNNI, "avx2_vnni"),
            (.avx2, "avx2"), (.sse41, "sse41"),
        ]
        return names.first { $0.0 == self }?.1 ?? names.first { includes($0.0) }.map { "\($0.1)+" } ?? "no SIMD ISA oneDNN uses"
    }
}

extension Layer {
    /// Every layer inside this one (itself included), each once, found through the stored
    /// properties (`Sequential`'s children, a block's convolutions, optionals, arrays and
    /// tuples of them), so a new block type needs no registration to be visited.
    public var allLayers: [any Layer] {
        var seen = Set<ObjectIdentifier>()
        var found: [any Layer] = []
        func visit(_ value: Any) {
            if let layer = value as? any Layer {
                guard seen.insert(ObjectIdentifier(layer)).inserted else { return }
                found.append(layer)
                Mirror(reflecting: layer).children.forEach { visit($0.value) }
                return
            }
            let mirror = Mirror(reflecting: value)
            guard [.collection, .tuple, .optional].contains(mirror.displayStyle) else { return }
            mirror.children.forEach { visit($0.value) }
        }
        visit(self)
        return found
    }

    /// Makes training forwards and backwards run at `precision`, after checking that this CPU
    /// (`isa`) runs it: at `.bf16` every convolution and inner product computes in bf16 (mixed
    /// precision: FP32 master weights, FP32 weight gradients, FP32 logits for the loss), and the
    /// layers between them (BatchNorm, activations, pooling, sums, concatenations) follow the
    /// element type of what they receive. Inference is unaffected (`run(at:)` sets it).
    public func train(at precision: Precision, isa: CPUISA = .effective) throws {
        try precision.requireTrainable(by: isa)
        for layer in allLayers {
            (layer as? Conv2D)?.trainingPrecision = precision
            (layer as? Linear)?.trainingPrecision = precision
        }
    }

    /// Makes inference run at `precision`, after checking that this CPU (`isa`) runs it
    /// natively; `.int8` needs every `ConvBN` quantized. Training is unaffected.
    public func run(at precision: Precision, isa: CPUISA = .effective) throws {
        try precision.requireSupported(by: isa)
        let units = allLayers.compactMap { $0 as? ConvBN }
        if precision == .int8, let missing = units.first(where: { $0.quantization == nil }) {
            throw NeuralNetError.invalidArgument("--precision int8 needs a quantized model (skinlesion quantize); "
                                                 + "\(missing.convName) has no int8 weights")
        }
        for unit in units { unit.precision = precision }
    }
}
