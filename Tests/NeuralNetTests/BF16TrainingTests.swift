import CDNNL
import XCTest
@testable import NeuralNet
import TestSupport

/// bf16 mixed-precision training (issue #11): convolutions and inner products compute in
/// bf16, the layers between follow their input's element type, and weight gradients come out
/// in FP32 for FP32 master weights. Each gradient is checked against FP32 finite differences
/// with a stated tolerance: bf16 keeps 8 significant bits, so one rounding is 2⁻⁹ ≈ 0.2 % of a
/// value, and a gradient that passes through a few layers of them stays within 2–3 %.
final class BF16TrainingTests: XCTestCase {
    func testConvolutionRunsInBF16AndItsWeightGradientIsFP32() throws {
        try withBF16 {
            let conv = try Conv2D(8, 16, kernel: 3, padding: 1, bias: true)
            try randomize(conv, seed: 3)
            let x = try randomTensor([2, 8, 6, 6], seed: 4)
            let dy = try randomTensor([2, 16, 6, 6], seed: 5)
            let y32 = try conv.forward(x, mode: .training).toArray()
            let dx32 = try XCTUnwrap(conv.backward(dy, needsInputGradient: true)).toArray()
            let dW32 = conv.weight.gradValues, dB32 = try XCTUnwrap(conv.bias).gradValues

            try conv.train(at: .bf16)
            let y = try conv.forward(x, mode: .training)
            XCTAssertEqual(y.dataType, dnnl_bf16, "the training forward writes bf16")
            let dx = try XCTUnwrap(conv.backward(dy, needsInputGradient: true))
            XCTAssertEqual(dx.dataType, dnnl_bf16, "the input gradient flows on in bf16")
            XCTAssertEqual(try XCTUnwrap(conv.weight.grad).dataType, dnnl_f32, "master weights get FP32 gradients")
            assertClose(try y.toArray(), y32, tolerance: 1e-2, "bf16 output vs FP32")
            assertClose(try dx.toArray(), dx32, tolerance: 1e-2, "bf16 input gradient vs FP32")
            assertClose(conv.weight.gradValues, dW32, tolerance: 1e-2, "bf16 weight gradient vs FP32")
            assertClose(try XCTUnwrap(conv.bias).gradValues, dB32, tolerance: 1e-2, "bf16 bias gradient vs FP32")
            XCTAssertNotEqual(try y.toArray(), y32, "bf16 must actually round (else this test checks FP32 twice)")

            XCTAssertEqual(try conv.forward(x, mode: .inference).dataType, dnnl_f32, "inference is not training's precision")
            try checkGradients(conv, input: x, tolerance: 2e-2, precision: .bf16)
        }
    }

    func testLinearTakesBF16AndWritesFP32Logits() throws {
        try withBF16 {
            let linear = try Linear(24, 5)
            try randomize(linear, seed: 6)
            let x = try randomTensor([4, 24], seed: 7)
            try linear.train(at: .bf16)
            let y = try linear.forward(x, mode: .training)
            XCTAssertEqual(y.dataType, dnnl_f32, "logits stay FP32 for the loss and softmax")
            let dx = try XCTUnwrap(linear.backward(try randomTensor([4, 5], seed: 8), needsInputGradient: true))
            XCTAssertEqual(dx.dataType, dnnl_bf16)
            XCTAssertEqual(try XCTUnwrap(linear.weight.grad).dataType, dnnl_f32)
            try checkGradients(linear, input: x, tolerance: 2e-2, precision: .bf16)
        }
    }

    /// The glue between the bf16 layers: BatchNorm, ReLU, zero padding, max and global
    /// pooling, a residual sum, a channel concatenation and dropout all take what the bf16
    /// convolutions hand them (each layer's FP32 gradient is checked against finite differences
    /// in its own tests). The stack's bf16 gradient keeps the FP32 gradient's direction (cosine ≥ 0.98 for the input and every
    /// parameter) but not each element: bf16 rounding re-decides some max-pool winners and
    /// ReLU signs, and BatchNorm's backward subtracts nearly equal sums, which on a toy batch
    /// leaves single elements up to 10–20 % off.
    func testANetworkOfEveryLayerKindTrainsInBF16() throws {
        try withBF16 {
            let stem = try ConvBN(try Conv2D(3, 16, kernel: 3, padding: 1), try BatchNorm(16), activation: .relu,
                                  names: (conv: "conv1", bn: "bn1"))
            let network = Sequential([
                ("stem", stem), ("pad", try ZeroPad2D(1)), ("pool", try Pool2D(.max, kernel: 3, stride: 2)),
                ("block", try ResidualConcat(channels: 16)), ("gap", GlobalPool()), ("drop", try Dropout(0.25, seed: 2)),
                ("fc", try Linear(32, 3)),
            ])
            try randomize(network, seed: 11, scale: 0.5)
            let x = try randomTensor([4, 3, 16, 16], seed: 12)
            let dropout = network.allLayers.compactMap { $0 as? Dropout }.first!
            let reseed = { dropout.generator = SeededGenerator(seed: 2) }

            func gradients(_ precision: Precision) throws -> [String: [Float]] {
                try network.train(at: precision)
                reseed()
                let y = try network.forward(x, mode: .training)
                XCTAssertEqual(y.dataType, dnnl_f32, "logits are FP32")
                let dy = try Tensor(shape: y.shape, values: randomValues(y.count, seed: 99))
                let dx = try XCTUnwrap(network.backward(dy, needsInputGradient: true))
                var found = ["output": try y.toArray(), "input": try dx.toArray()]
                for (name, p) in network.namedParameters where p.trainable { found[name] = p.gradValues }
                return found
            }
            let fp32 = try gradients(.fp32), bf16 = try gradients(.bf16)
            assertClose(bf16["output"]!, fp32["output"]!, tolerance: 1e-2, "bf16 logits vs FP32")
            XCTAssertEqual(fp32.count, 11, "output, input and 9 trainable tensors")
            for (name, exact) in fp32 {
                let rounded = bf16[name]!
                let dot = zip(rounded, exact).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let norms = [rounded, exact].map { $0.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
                XCTAssertGreaterThan(dot / (norms[0] * norms[1]), 0.98, "\(name): bf16 gradient direction vs FP32")
                XCTAssertNotEqual(rounded, exact, "\(name): bf16 must actually round")
            }
        }
    }

    /// `train --frozen-precision bf16`: a frozen prefix running bf16 inference hands the first
    /// trainable child FP32, so the trainable part trains at its own precision (a BatchNorm,
    /// which follows its input's element type, would otherwise train in bf16), and its gradient
    /// stays FP32.
    func testFrozenBF16PrefixHandsTheTrainablePartFP32() throws {
        try withBF16 {
            let frozen = try ConvBN(try Conv2D(8, 16, kernel: 3, padding: 1), try BatchNorm(16), activation: .relu,
                                    names: (conv: "conv", bn: "bn"))
            let trainable = try BatchNorm(16)
            try randomize(frozen, seed: 11)
            let network = Sequential([("frozen", frozen), ("trainable", trainable)])
            network.skipsFrozenPrefix = true
            frozen.setFrozen(true)
            let x = try randomTensor([4, 8, 5, 5], seed: 12)
            let fp32 = try network.forward(x, mode: .training).toArray()

            try frozen.run(at: .bf16)
            XCTAssertEqual(try frozen.forward(x, mode: .inference).dataType, dnnl_bf16, "the frozen part runs bf16 inference")
            let y = try network.forward(x, mode: .training)
            XCTAssertEqual(y.dataType, dnnl_f32, "the trainable BatchNorm must receive FP32, not the frozen part's bf16")
            assertClose(try y.toArray(), fp32, tolerance: 2e-2, "through bf16 frozen stages vs FP32")
            XCTAssertNotEqual(try y.toArray(), fp32, "the frozen part must actually round to bf16")
            let dx = try network.backward(try randomTensor([4, 16, 5, 5], seed: 13), needsInputGradient: true)
            XCTAssertNil(dx, "nothing below the frozen part asks for a gradient")
            XCTAssertEqual(try XCTUnwrap(trainable.parameters.first { $0.trainable }?.grad).dataType, dnnl_f32)
        }
    }

    func testPrecisionsTrainingRefuses() throws {
        let conv = try Conv2D(3, 4, kernel: 1)
        XCTAssertThrowsError(try conv.train(at: .int8)) { XCTAssertTrue("\($0)".contains("inference format"), "\($0)") }
        XCTAssertThrowsError(try conv.train(at: .bf16, isa: .avx512CoreVNNI)) {
            XCTAssertTrue("\($0)".contains("needs AVX-512 with AVX512_BF16"), "\($0)")
            XCTAssertTrue("\($0)".contains("SKINLESION_BF16_EMULATION=1"), "an AVX-512 CPU is told how to check quality: \($0)")
        }
        XCTAssertThrowsError(try conv.train(at: .bf16, isa: .avx2)) {
            XCTAssertFalse("\($0)".contains("SKINLESION_BF16_EMULATION"), "oneDNN cannot emulate bf16 on AVX2: \($0)")
        }
        XCTAssertFalse(Precision.bf16.isEmulated(on: .avx512CoreVNNI), "emulation only when asked for")
        setenv("SKINLESION_BF16_EMULATION", "1", 1)
        defer { unsetenv("SKINLESION_BF16_EMULATION") }
        XCTAssertTrue(Precision.bf16.isEmulated(on: .avx512CoreVNNI))
        XCTAssertNoThrow(try conv.train(at: .bf16, isa: .avx512CoreVNNI))
        XCTAssertFalse(Precision.bf16.isEmulated(on: .avx512CoreBF16), "native where the CPU has the instructions")
        XCTAssertThrowsError(try conv.train(at: .bf16, isa: .avx2), "no emulation below AVX-512")
    }
}

/// x + ReLU(BN(conv(x))) concatenated with conv(x): a residual sum and a concatenation, as
/// ResNet and DenseNet blocks have them, doubling the channels.
private final class ResidualConcat: Layer {
    let unit: ConvBN
    let side: Conv2D
    let concat = Concat()

    init(channels: Int) throws {
        unit = try ConvBN(try Conv2D(channels, channels, kernel: 3, padding: 1), try BatchNorm(channels),
                          activation: .relu, names: (conv: "conv", bn: "bn"))
        side = try Conv2D(channels, channels, kernel: 1)
    }

    var namedParameters: [(name: String, parameter: Parameter)] {
        prefixed("unit", unit.namedParameters) + prefixed("side", side.namedParameters)
    }

    func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        try concat.forward([unit.forward(x, adding: x, mode: mode), side.forward(x, mode: mode)], mode: mode)
    }

    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let parts = try concat.backward(dy)
        let (throughUnit, residual) = try unit.backwardWithResidual(parts[0], needsInputGradient: true)
        let throughSide = try XCTUnwrap(side.backward(parts[1], needsInputGradient: true))
        return try Add.forward(Add.forward(XCTUnwrap(throughUnit), XCTUnwrap(residual)), throughSide)
    }
}
