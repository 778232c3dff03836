import XCTest
import NeuralNet

// Shared by every test target: deterministic data, the parity measure, and the
// finite-difference gradient check. Public NeuralNet API only, so it builds in any configuration.

/// Deterministic test data: values spread over [-1, 1), at least `gap` away from zero so a
/// finite-difference step never crosses ReLU's kink.
public func randomValues(_ count: Int, seed: UInt64, gap: Float = 0) -> [Float] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in
        let v = rng.nextUnit() * 2 - 1
        return v >= 0 ? v + gap : v - gap
    }
}

public func randomTensor(_ shape: [Int], seed: UInt64, gap: Float = 0) throws -> Tensor {
    try Tensor(shape: shape, values: randomValues(shape.reduce(1, *), seed: seed, gap: gap))
}

public func randomize(_ layer: any Layer, seed: UInt64, scale: Float = 1) throws {
    for (offset, p) in layer.parameters.enumerated() where p.kind == .weight {
        try p.assign(randomValues(p.count, seed: seed &+ UInt64(offset)).map { $0 * scale })
    }
}

/// Max |a − b| relative to max |b|: the parity measure the project uses everywhere.
public func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "compared arrays differ in length: \(a.count) vs \(b.count)")
    let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    let scale = max(b.map(abs).max() ?? 0, 1e-12)
    return diff / scale
}

public func assertClose(_ a: [Float], _ b: [Float], tolerance: Float, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): length", file: file, line: line)
    guard a.count == b.count else { return }
    let error = relativeError(a, b)
    XCTAssertLessThanOrEqual(error, tolerance, "\(what): relative error \(error)", file: file, line: line)
}

/// Checks a layer's backward pass against central finite differences of the scalar
/// L = Σ r ⊙ forward(x), with r a fixed random tensor, for the input and every trainable
/// parameter. Up to `samples` coordinates of each are probed. `prepare` runs before every
/// forward (e.g. to reseed dropout so each evaluation sees the same mask).
///
/// `precision` is the training precision of the analytic pass. The finite differences always
/// run in FP32 (the layer is left training in FP32): bf16's rounding, 2⁻⁹ of every value,
/// would swamp a difference quotient, so for bf16 `tolerance` states how far its gradient may
/// be from the exact one.
public func checkGradients(_ layer: any Layer, input: Tensor, step: Float = 1e-2, tolerance: Float = 1e-3,
                    samples: Int = 60, precision: Precision = .fp32, prepare: () -> Void = {},
                    file: StaticString = #filePath, line: UInt = #line) throws {
    if precision != .fp32 { try layer.train(at: precision) }
    prepare()
    let y = try layer.forward(input, mode: .training)
    let r = randomValues(y.count, seed: 99)
    let dx = try XCTUnwrap(layer.backward(try Tensor(shape: y.shape, values: r), needsInputGradient: true),
                           file: file, line: line)
    XCTAssertEqual(dx.shape, input.shape, "input gradient shape", file: file, line: line)
    if precision != .fp32 { try layer.train(at: .fp32) }

    // Probed inputs are perturbed in a plain copy, rebuilt into a tensor for every evaluation.
    var probedInput: UnsafeMutablePointer<Float>?
    func loss() throws -> Double {
        prepare()
        let x = try probedInput.map { try Tensor(shape: input.shape, values: Array(UnsafeBufferPointer(start: $0, count: input.count))) } ?? input
        let out = try layer.forward(x, mode: .training).toArray()
        return zip(out, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    func numeric(_ pointer: UnsafeMutablePointer<Float>, _ index: Int, _ touched: () -> Void, isInput: Bool = false) throws -> Float {
        probedInput = isInput ? pointer : nil
        defer { probedInput = nil }
        let original = pointer[index]
        pointer[index] = original + step; touched()
        let plus = try loss()
        pointer[index] = original - step; touched()
        let minus = try loss()
        pointer[index] = original; touched()
        return Float((plus - minus) / (2 * Double(step)))
    }
    func probe(_ count: Int) -> [Int] {
        count <= samples ? Array(0..<count) : (0..<samples).map { ($0 * 7919 + 13) % count }
    }

    let analyticInput = try dx.toArray()
    var inputValues = try input.toArray()
    let indices = probe(input.count)
    let numericInput = try inputValues.withUnsafeMutableBufferPointer { values in
        try indices.map { try numeric(values.baseAddress!, $0, {}, isInput: true) }
    }
    assertClose(indices.map { analyticInput[$0] }, numericInput, tolerance: tolerance, "∂L/∂input",
                file: file, line: line)

    // Analytic parameter gradients were set by the first backward; later forwards do not touch them.
    for (name, p) in layer.namedParameters where p.trainable {
        let analytic = p.gradValues
        let indices = probe(p.count)
        let numericGrad = try indices.map { try numeric(p.storage, $0, p.markUpdated) }
        assertClose(indices.map { analytic[$0] }, numericGrad, tolerance: tolerance, "∂L/∂\(name)",
                    file: file, line: line)
    }
}

/// Runs `body` with bf16 available: natively on CPUs with AVX512_BF16, through oneDNN's
/// emulation (`SKINLESION_BF16_EMULATION=1`, unset again afterwards so refusal tests see the
/// plain environment) on other AVX-512 CPUs. oneDNN has no bf16 kernels below AVX-512, so
/// there the test skips, naming the ISA.
public func withBF16<T>(_ body: () throws -> T) throws -> T {
    let isa = CPUISA.effective
    guard isa.includes(.avx512Core) else {
        throw XCTSkip("oneDNN has no bf16 kernels on \(isa.name) (it needs AVX-512); bf16 is refused there by name")
    }
    guard !isa.includes(.avx512CoreBF16) else { return try body() }
    setenv("SKINLESION_BF16_EMULATION", "1", 1)
    defer { unsetenv("SKINLESION_BF16_EMULATION") }
    return try body()
}
