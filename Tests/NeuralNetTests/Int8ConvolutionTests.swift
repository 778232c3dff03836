import CDNNL
import XCTest
@testable import NeuralNet

/// The int8 convolution against the arithmetic written out plainly: quantize the input,
/// accumulate q_x·q_w in Int32, add the bias in accumulator steps, rescale, add the rescaled
/// residual, rectify, round to nearest (ties to even, as the CPU does) and saturate.
final class Int8ConvolutionTests: XCTestCase {
    struct Case {
        var input: [Int]
        var outChannels: Int
        var kernel: Int
        var stride: Int
        var padding: Int
        var relu: Bool
        var output: ConvQuantization.Output
        var quantizedInput: Bool
        var residual: ConvQuantization.Output?
    }

    func testStemLikeFP32InputToU8() throws {
        try check(Case(input: [2, 3, 9, 9], outChannels: 16, kernel: 3, stride: 2, padding: 1, relu: true, output: .u8,
                       quantizedInput: false, residual: nil))
    }

    func testProjectionShortcutU8ToS8() throws {
        try check(Case(input: [2, 16, 8, 8], outChannels: 32, kernel: 1, stride: 2, padding: 0, relu: false, output: .s8,
                       quantizedInput: true, residual: nil))
    }

    func testExpandWithS8ResidualToU8() throws {
        try check(Case(input: [2, 16, 6, 6], outChannels: 32, kernel: 1, stride: 1, padding: 0, relu: true, output: .u8,
                       quantizedInput: true, residual: .s8))
    }

    func testSpatialWithU8ResidualToU8() throws {
        try check(Case(input: [1, 16, 7, 7], outChannels: 16, kernel: 3, stride: 1, padding: 1, relu: true, output: .u8,
                       quantizedInput: true, residual: .u8))
    }

    func testLastLayerToF32WithU8Residual() throws {
        try check(Case(input: [2, 16, 5, 5], outChannels: 16, kernel: 1, stride: 1, padding: 0, relu: true, output: .f32,
                       quantizedInput: true, residual: .u8))
    }

    private func check(_ c: Case) throws {
        var rng = SeededGenerator(seed: 11)
        let (n, inC, h, w) = (c.input[0], c.input[1], c.input[2], c.input[3])
        let unit = try ConvBN(Conv2D(inC, c.outChannels, kernel: c.kernel, stride: c.stride, padding: c.padding),
                              BatchNorm(c.outChannels), activation: c.relu ? .relu : nil, names: ("conv", "bn"))
        try unit.conv.weight.assign((0..<unit.conv.weight.count).map { _ in rng.nextNormal() * 0.2 })
        try unit.bn.runningMean.assign((0..<c.outChannels).map { _ in rng.nextNormal() * 0.1 })
        try unit.bn.runningVar.assign((0..<c.outChannels).map { _ in 0.5 + abs(rng.nextNormal()) })
        try unit.bn.bias.assign((0..<c.outChannels).map { _ in rng.nextNormal() * 0.3 })
        let folded = try unit.inferenceParameters()
        let (stored, storedScales) = ConvQuantization.quantizeWeights(folded.weight, outChannels: c.outChannels)

        // The input: u8 activations with a scale, or FP32 data the layer quantizes to s8 itself.
        let inputScale: Float = 0.021
        let count = n * inC * h * w
        let x: Tensor, qx: [Int]
        if c.quantizedInput {
            qx = (0..<count).map { _ in Int(rng.next() % 256) }
            x = try Tensor(shape: c.input, values: qx.map { Float($0) * inputScale }).quantized(to: .plain(c.input, dnnl_u8), scale: inputScale)
        } else {
            let values = (0..<count).map { _ in rng.nextNormal() }
            x = try Tensor(shape: c.input, values: values)
            qx = values.map { min(127, max(-128, Int(($0 * (1 / inputScale)).rounded(.toNearestOrEven)))) }
        }
        let outH = (h + 2 * c.padding - c.kernel) / c.stride + 1, outW = (w + 2 * c.padding - c.kernel) / c.stride + 1
        let outCount = n * c.outChannels * outH * outW
        let outputScale: Float = c.output == .f32 ? 1 : 0.037

        var residual: Tensor?, residualReal = [Float](repeating: 0, count: outCount)
        if let kind = c.residual {
            let residualScale: Float = 0.029
            let q = (0..<outCount).map { _ in kind == .u8 ? Int(rng.next() % 256) : Int(rng.next() % 256) - 128 }
            residualReal = q.map { Float($0) * residualScale }
            let type = kind == .u8 ? dnnl_u8 : dnnl_s8
            residual = try Tensor(shape: [n, c.outChannels, outH, outW], values: residualReal)
                .quantized(to: .plain([n, c.outChannels, outH, outW], type), scale: residualScale)
        }
        unit.quantization = try ConvQuantization(weights: stored, weightScales: storedScales, bias: folded.bias,
                                                 inputScale: c.quantizedInput ? nil : inputScale, output: c.output,
                                                 outputScale: outputScale, for: unit.conv, name: "conv")
        unit.precision = .int8
        // Without VNNI the kernels run 7-bit weights (see `kernelForm`); the reference uses what they run.
        let kernel = unit.quantization!.kernelForm
        XCTAssertEqual(kernel.weights == stored, CPUISA.effective.hasVNNI)
        let (qw, ws) = kernel
        let y = try unit.forward(x, adding: residual, mode: .inference)
        XCTAssertEqual(y.shape, [n, c.outChannels, outH, outW])
        let got = try y.toArray()

        // The plain arithmetic.
        var worst: Float = 0, exact = 0
        for b in 0..<n {
            for o in 0..<c.outChannels {
                for oy in 0..<outH {
                    for ox in 0..<outW {
                        var acc: Int32 = 0
                        for i in 0..<inC {
                            for ky in 0..<c.kernel {
                                for kx in 0..<c.kernel {
                                    let iy = oy * c.stride - c.padding + ky, ix = ox * c.stride - c.padding + kx
                                    guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                    let xv = qx[((b * inC + i) * h + iy) * w + ix]
                                    let wv = Int(qw[((o * inC + i) * c.kernel + ky) * c.kernel + kx])
                                    acc += Int32(xv * wv)
                                }
                            }
                        }
                        let index = ((b * c.outChannels + o) * outH + oy) * outW + ox
                        let accumulatorBias = folded.bias[o] / (inputScale * ws[o])
                        var v = inputScale * ws[o] / outputScale * (Float(acc) + accumulatorBias) + residualReal[index] / outputScale
                        if c.relu { v = max(0, v) }
                        let expected: Float
                        switch c.output {
                        case .f32: expected = v
                        case .u8: expected = min(255, max(0, v.rounded(.toNearestOrEven))) * outputScale
                        case .s8: expected = min(127, max(-128, v.rounded(.toNearestOrEven))) * outputScale
                        }
                        let error = abs(got[index] - expected)
                        worst = max(worst, error)
                        if error <= 1e-5 * max(1, abs(expected)) { exact += 1 }
                    }
                }
            }
        }
        // Products of scales round differently in float, which can move a value lying on a
        // rounding boundary by one step; anything more is a wrong formula.
        let step = c.output == .f32 ? 1e-3 * (got.map(abs).max() ?? 1) : outputScale * 1.0001
        XCTAssertLessThanOrEqual(worst, step, "largest difference from the plain int8 arithmetic")
        XCTAssertGreaterThan(Double(exact) / Double(outCount), 0.98, "share of outputs equal to the reference")
    }

    func testWithoutVNNIWeightsAreHalvedToSevenBits() {
        let form = ConvQuantization.kernelForm([127, -128, 3, -3, 0], [0.1, 0.2, 0.3, 0.4, 0.5], vnni: false)
        XCTAssertEqual(form.weights, [64, -64, 2, -2, 0])
        XCTAssertEqual(form.scales, [0.2, 0.4, 0.6, 0.8, 1.0])
        XCTAssertEqual(ConvQuantization.kernelForm([127, -128], [0.1, 0.2], vnni: true).weights, [127, -128])
    }

    func testPrecisionNamesWhatTheCPUNeedsAndHas() throws {
        XCTAssertNoThrow(try Precision.fp32.requireSupported(by: .sse41))
        XCTAssertNoThrow(try Precision.int8.requireSupported(by: .avx2))
        XCTAssertNoThrow(try Precision.bf16.requireSupported(by: .avx512CoreBF16))
        XCTAssertNoThrow(try Precision.bf16.requireSupported(by: .avx512CoreAMX))
        XCTAssertThrowsError(try Precision.bf16.requireSupported(by: .avx512CoreVNNI)) {
            XCTAssertTrue("\($0)".contains("AVX512_BF16"), "\($0)")
            XCTAssertTrue("\($0)".contains("oneDNN reports avx512_core_vnni"), "\($0)")
        }
        XCTAssertThrowsError(try Precision.bf16.requireSupported(by: .avx2)) {
            XCTAssertTrue("\($0)".contains("oneDNN reports avx2"), "\($0)")
        }
        XCTAssertThrowsError(try Precision.int8.requireSupported(by: .sse41)) {
            XCTAssertTrue("\($0)".contains("needs AVX2"), "\($0)")
        }
        XCTAssertTrue(CPUISA.avx512CoreBF16.includes(.avx2))
        XCTAssertFalse(CPUISA.avx512CoreVNNI.includes(.avx2VNNI))
        XCTAssertEqual(CPUISA.avx2VNNI.name, "avx2_vnni")
    }
}
