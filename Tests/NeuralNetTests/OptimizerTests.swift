import Foundation
import XCTest
@testable import NeuralNet
import TestSupport

final class OptimizerTests: XCTestCase {
    /// Three steps of Adam (L2 decay) and AdamW (decoupled decay) on a [1, 2] weight. Expected
    /// weights come from a pure-Python re-implementation of torch/optim/adam.py's single-tensor
    /// step (lr 0.1, weight_decay 0.1, default betas and eps), run once and pasted here.
    func testAdamAndAdamWMatchPyTorchsFormulas() throws {
        let expected: [Bool: [[Float]]] = [
            false: [[0.9000000016666666, -1.900000002222222], [0.8067275587455157, -1.9160584207825666],
                    [0.7434025436290919, -1.8931612085135463]],
            true: [[0.890000002, -1.8800000039999998], [0.7893218909026943, -1.9106189864058514],
                   [0.7236432987340926, -1.9086636226704594]],
        ]
        let grads: [[Float]] = [[0.5, -0.25], [1.5, 0.75], [-0.3, -0.25]]
        for decoupled in [false, true] {
            let layer = try Linear(2, 1, bias: false)
            try layer.weight.assign([1, -2])
            let adam = try Adam(learningRate: 0.1, weightDecay: 0.1, decoupledWeightDecay: decoupled)
            for step in 0..<3 {
                layer.weight.grad = try Tensor(shape: [1, 2], values: grads[step])
                adam.step(layer.namedParameters)
                assertClose(layer.weight.values, expected[decoupled]![step], tolerance: 1e-6,
                            "step \(step) decoupled \(decoupled)")
            }
            XCTAssertEqual(adam.state(layer.namedParameters)["weight/step"], [3])
        }
    }

    /// With a zero gradient only weight decay moves a weight: the [1, 2] matrix must shrink, the
    /// [1] bias must not, whichever optimizer and kind of decay.
    func testWeightDecaySkipsOneDimensionalParameters() throws {
        let optimizers: [any Optimizer] = [
            try SGD(learningRate: 0.1, weightDecay: 0.5),
            try SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.5),
            try Adam(learningRate: 0.1, weightDecay: 0.5),
            try Adam(learningRate: 0.1, weightDecay: 0.5, decoupledWeightDecay: true),
        ]
        for (i, optimizer) in optimizers.enumerated() {
            let layer = try Linear(2, 1)
            try layer.weight.assign([1, -2])
            try layer.bias!.assign([3])
            layer.weight.grad = try Tensor(shape: [1, 2], repeating: 0)
            layer.bias!.grad = try Tensor(shape: [1], repeating: 0)
            optimizer.step(layer.namedParameters)
            XCTAssertEqual(layer.bias!.values, [3], "optimizer \(i): no decay on a bias")
            XCTAssertNotEqual(layer.weight.values, [1, -2], "optimizer \(i): decay on a matrix")
            if i < 2 {
                // SGD: w − lr·(0 + λw) = 0.95·w.
                assertClose(layer.weight.values, [0.95, -1.9], tolerance: 1e-7, "optimizer \(i)")
            }
        }
    }

    func testFrozenParametersAndBuffersAreUntouched() throws {
        let optimizers: [any Optimizer] = [
            try SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.1),
            try Adam(learningRate: 0.1, weightDecay: 0.1, decoupledWeightDecay: true),
        ]
        for optimizer in optimizers {
            let layer = try Linear(2, 1)
            try layer.weight.assign([1, -2])
            try layer.bias!.assign([3])
            layer.setFrozen(true)
            layer.weight.grad = try Tensor(shape: [1, 2], values: [1, 1])
            layer.bias!.grad = try Tensor(shape: [1], values: [1])
            let bn = try BatchNorm(1)
            try bn.runningMean.assign([0.5])
            bn.runningMean.grad = try Tensor(shape: [1], values: [1])
            let named = layer.namedParameters + bn.namedParameters.map { ("bn." + $0.name, $0.parameter) }
            optimizer.step(named)
            XCTAssertEqual(layer.weight.values, [1, -2])
            XCTAssertEqual(layer.bias!.values, [3])
            XCTAssertEqual(bn.runningMean.values, [0.5], "buffers are not trained")
            XCTAssertEqual(optimizer.state(named), [:], "no state for what was not stepped")
        }
    }

    /// PyTorch counts Adam's steps per parameter, so a stage unfrozen late starts at t = 1.
    func testAdamCountsStepsPerParameter() throws {
        let layer = try Linear(2, 1)
        layer.weight.grad = try Tensor(shape: [1, 2], values: [1, 1])
        layer.bias!.grad = try Tensor(shape: [1], values: [1])
        let adam = try Adam()
        layer.bias!.frozen = true
        adam.step(layer.namedParameters)
        adam.step(layer.namedParameters)
        layer.bias!.frozen = false
        adam.step(layer.namedParameters)
        let state = adam.state(layer.namedParameters)
        XCTAssertEqual(state["weight/step"], [3])
        XCTAssertEqual(state["bias/step"], [1])
        XCTAssertEqual(Set(state.keys), ["weight/exp_avg", "weight/exp_avg_sq", "weight/step",
                                         "bias/exp_avg", "bias/exp_avg_sq", "bias/step"])
    }

    /// Five uninterrupted steps against three steps, a checkpoint of weights and optimizer state
    /// through a safetensors file, a fresh layer and optimizer, and two more steps: every value
    /// must be bit-identical.
    func testRestoredStateContinuesBitIdentically() throws {
        let makers: [(String, () throws -> any Optimizer)] = [
            ("SGD", { try SGD(learningRate: 0.05, momentum: 0.9, weightDecay: 1e-3) }),
            ("Nesterov", { try SGD(learningRate: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3) }),
            ("Adam", { try Adam(learningRate: 0.01, weightDecay: 1e-3) }),
            ("AdamW", { try Adam(learningRate: 0.01, weightDecay: 0.05, decoupledWeightDecay: true) }),
        ]
        func makeLayer() throws -> Linear {
            let layer = try Linear(3, 2)
            try layer.weight.assign(randomValues(6, seed: 1))
            try layer.bias!.assign([0.1, -0.2])
            return layer
        }
        func train(_ layer: Linear, _ optimizer: any Optimizer, steps: Range<Int>) throws {
            for step in steps {
                layer.weight.grad = try randomTensor([2, 3], seed: 100 + UInt64(step))
                layer.bias!.grad = try randomTensor([2], seed: 200 + UInt64(step))
                optimizer.step(layer.namedParameters)
            }
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("optimizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        for (label, make) in makers {
            let uninterrupted = try makeLayer(), optimizer = try make()
            try train(uninterrupted, optimizer, steps: 0..<5)

            let first = try makeLayer(), firstOptimizer = try make()
            try train(first, firstOptimizer, steps: 0..<3)
            var writer = SafeTensorsWriter()
            let state = firstOptimizer.state(first.namedParameters)
            XCTAssertFalse(state.isEmpty, label)
            for (name, values) in state { try writer.add(name, shape: [values.count], floats: values) }
            for (name, p) in first.namedParameters { try writer.add(name, shape: p.shape, floats: p.values) }
            let url = directory.appendingPathComponent("\(label).safetensors")
            try writer.write(to: url)

            let file = try SafeTensorsFile(contentsOf: url)
            let resumed = try makeLayer(), resumedOptimizer = try make()
            for (name, p) in resumed.namedParameters { try p.assign(file.floats(name)) }
            let names = Set(resumed.namedParameters.map(\.name))
            let restored = try Dictionary(uniqueKeysWithValues: file.names.filter { !names.contains($0) }.map { ($0, try file.floats($0)) })
            try resumedOptimizer.restore(restored, for: resumed.namedParameters)
            try train(resumed, resumedOptimizer, steps: 3..<5)

            XCTAssertEqual(resumed.weight.values, uninterrupted.weight.values, label)
            XCTAssertEqual(resumed.bias!.values, uninterrupted.bias!.values, label)
            XCTAssertEqual(resumedOptimizer.state(resumed.namedParameters), optimizer.state(uninterrupted.namedParameters), label)
        }
    }

    func testRestoreRejectsForeignOrMisshapenState() throws {
        let layer = try Linear(2, 1)
        let sgd = try SGD(learningRate: 0.1, momentum: 0.9)
        XCTAssertThrowsError(try sgd.restore(["weight/exp_avg": [0, 0]], for: layer.namedParameters), "Adam's slot")
        XCTAssertThrowsError(try sgd.restore(["weight/momentum": [0]], for: layer.namedParameters), "wrong size")
        XCTAssertThrowsError(try sgd.restore(["fc.weight/momentum": [0, 0]], for: layer.namedParameters), "unknown name")
        XCTAssertThrowsError(try Adam().restore(["bias/step": [1, 2]], for: layer.namedParameters), "step is a scalar")
        XCTAssertNoThrow(try sgd.restore(["weight/momentum": [1, 2], "bias/momentum": [3]], for: layer.namedParameters))
        XCTAssertEqual(sgd.state(layer.namedParameters), ["weight/momentum": [1, 2], "bias/momentum": [3]])
    }

    /// Gradients [3, 4] and [12] have norm 13; clipping to 6.5 halves them (up to PyTorch's 1e-6
    /// in the denominator), clipping to 20 leaves them alone. A frozen weight's stale gradient
    /// neither counts nor changes.
    func testClipNormReturnsTheNormAndScalesGradients() throws {
        let layer = try Linear(2, 1)
        let frozen = try Linear(1, 1, bias: false)
        frozen.setFrozen(true)
        frozen.weight.grad = try Tensor(shape: [1, 1], values: [100])
        func setGradients() throws {
            layer.weight.grad = try Tensor(shape: [1, 2], values: [3, 4])
            layer.bias!.grad = try Tensor(shape: [1], values: [12])
        }
        try setGradients()
        let parameters = layer.parameters + frozen.parameters
        XCTAssertEqual(GradientClipping.clipNorm(parameters, maxNorm: 20), 13)
        XCTAssertEqual(layer.weight.gradValues, [3, 4])
        XCTAssertEqual(layer.bias!.gradValues, [12])

        XCTAssertEqual(GradientClipping.clipNorm(parameters, maxNorm: 6.5), 13)
        let scale = Float(6.5 / (13 + 1e-6))
        assertClose(layer.weight.gradValues, [1.5, 2], tolerance: 1e-6, "clipped weight gradient")
        assertClose(layer.bias!.gradValues, [12 * scale], tolerance: 1e-7, "clipped bias gradient")
        XCTAssertEqual(frozen.weight.gradValues, [100])
        XCTAssertEqual(GradientClipping.clipNorm(parameters, maxNorm: 6.5), 6.5, accuracy: 1e-5, "norm after clipping")
    }

    /// Decay 0.5 makes the average easy by hand: a value starting at 0 and then set to 1, 2, 4
    /// averages to 0.5, 1.25, 2.625; the counter is copied, not averaged.
    func testEMAAveragesWeightsAndBuffersAndCopiesCounters() throws {
        let bn = try BatchNorm(1)
        let named = bn.namedParameters
        for (_, p) in named { try p.assign([0]) }
        let ema = try ExponentialMovingAverage(named, decay: 0.5)
        var expected: [Float] = []
        for (step, value) in [Float(1), 2, 4].enumerated() {
            for (_, p) in named { try p.assign([p.kind == .counter ? Float(step + 1) : value]) }
            try ema.update(from: named, step: step)
            expected.append(ema.state()["weight"]![0])
        }
        XCTAssertEqual(expected, [0.5, 1.25, 2.625])
        XCTAssertEqual(ema.state(), ["weight": [2.625], "bias": [2.625], "running_mean": [2.625],
                                     "running_var": [2.625], "num_batches_tracked": [3]])

        try ema.swap(with: named)
        XCTAssertEqual(bn.runningVar.values, [2.625], "the model evaluates with the average")
        XCTAssertEqual(ema.state()["weight"], [4], "and the average holds the live values")
        try ema.swap(with: named)
        XCTAssertEqual(bn.weight.values, [4], "swapping back resumes training where it was")

        let saved = ema.state()
        let resumed = try ExponentialMovingAverage(named, decay: 0.5)
        try resumed.restore(saved)
        XCTAssertEqual(resumed.state(), saved)
        try resumed.copy(into: named)
        XCTAssertEqual(bn.bias.values, [2.625])
        XCTAssertThrowsError(try resumed.restore(["weight": [1]]), "missing names")
        XCTAssertThrowsError(try resumed.update(from: [("fc.weight", bn.weight)], step: 0), "unknown name")
        XCTAssertThrowsError(try ExponentialMovingAverage(named + named, decay: 0.5), "duplicate names")
    }

    /// With warm-up the decay is min(decay, (1 + t) / (10 + t)): 0.1 at the first update, 0.5
    /// from the ninth on for decay 0.5; a value starting at 0 and set to 1 averages to 0.9 after
    /// one update, where the plain average would still be at 0.5. Without warm-up the step does
    /// not matter.
    func testEMAWarmupRampsTheDecayUp() throws {
        let layer = try Linear(1, 1, bias: false)
        try layer.weight.assign([0])
        let warm = try ExponentialMovingAverage(layer.namedParameters, decay: 0.5, warmup: true)
        let plain = try ExponentialMovingAverage(layer.namedParameters, decay: 0.5)
        XCTAssertEqual([0, 1, 2, 7, 8, 1000].map(warm.decay(at:)), [0.1, 2 / 11, 0.25, 8 / 17, 0.5, 0.5])
        XCTAssertEqual(plain.decay(at: 0), 0.5)
        try layer.weight.assign([1])
        try warm.update(from: layer.namedParameters, step: 0)
        try plain.update(from: layer.namedParameters, step: 0)
        XCTAssertEqual(warm.state()["weight"]![0], 0.9, accuracy: 1e-6)
        XCTAssertEqual(plain.state()["weight"], [0.5])
        try layer.weight.assign([2])
        try warm.update(from: layer.namedParameters, step: 1)
        XCTAssertEqual(warm.state()["weight"]![0], 2 / 11 * 0.9 + 9 / 11 * 2, accuracy: 1e-6)
    }
}
