/// An exponential moving average of a model's whole state, as timm's `ModelEmaV2`: after each
/// optimizer step, shadow = decay·shadow + (1 − decay)·value for weights and BatchNorm's
/// running statistics, while counters (`num_batches_tracked`) are copied. Averaging the
/// running statistics too keeps them consistent with the averaged weights.
///
/// With `warmup` the decay grows with the number of updates, as TensorFlow's
/// `ExponentialMovingAverage(num_updates=…)` does: min(decay, (1 + t) / (10 + t)) at update t
/// (0.1 at the first, 0.5 at the ninth, 0.9 at the 81st), so a short fine-tuning run's average
/// forgets the initial weights within a few dozen steps instead of carrying them for about
/// 1/(1 − decay) steps. t is the optimizer step the trainer checkpoints, so a resumed run
/// averages exactly as an uninterrupted one.
///
/// Evaluate with the averaged weights by `swap(with:)` before and again after; export them
/// with `copy(into:)`. The shadows are keyed by the same state-dict names as the model, so
/// `state()` is itself a loadable state dict and a checkpoint stores it as safetensors.
public final class ExponentialMovingAverage {
    /// Weight of the old average per update; timm's default 0.9998 suits ~10⁴ steps or more,
    /// short fine-tuning runs want a smaller one (the average spans about 1/(1 − decay) steps).
    public var decay: Float
    /// Whether the decay ramps up over the first updates (see above).
    public let warmup: Bool
    private let shadows: [(name: String, parameter: Parameter)]
    private let index: [String: Int]

    /// Starts the average at the current values of `parameters`.
    public init(_ parameters: [(name: String, parameter: Parameter)], decay: Float, warmup: Bool = false) throws {
        guard (0...1).contains(decay) else {
            throw NeuralNetError.invalidArgument("EMA decay must be in [0, 1], got \(decay)")
        }
        self.decay = decay
        self.warmup = warmup
        shadows = try parameters.map { name, p in
            (name, try Parameter(shape: p.shape, kind: p.kind, values: p.values))
        }
        var index: [String: Int] = [:]
        for (i, shadow) in shadows.enumerated() where index.updateValue(i, forKey: shadow.name) != nil {
            throw NeuralNetError.invalidArgument("the parameter name \(shadow.name) occurs twice")
        }
        self.index = index
    }

    /// The weight of the old average at update `step` (counted from 0).
    public func decay(at step: Int) -> Float {
        guard warmup else { return decay }
        return min(decay, Float(1 + step) / Float(10 + step))
    }

    /// Folds the current values into the average as update number `step` (from 0; it matters
    /// only with `warmup`).
    public func update(from parameters: [(name: String, parameter: Parameter)], step: Int) throws {
        let decay = decay(at: step)
        for (p, shadow) in try pairs(parameters) {
            let s = shadow.storage, x = p.storage
            if p.kind == .counter {
                s.update(from: x, count: p.count)
            } else {
                for i in 0..<p.count { s[i] = decay * s[i] + (1 - decay) * x[i] }
            }
            shadow.markUpdated()
        }
    }

    /// Overwrites `parameters` with the averaged values.
    public func copy(into parameters: [(name: String, parameter: Parameter)]) throws {
        for (p, shadow) in try pairs(parameters) {
            p.storage.update(from: shadow.storage, count: p.count)
            p.markUpdated()
        }
    }

    /// Exchanges the averaged and the live values: call once to evaluate the average, and
    /// again to resume training where it was.
    public func swap(with parameters: [(name: String, parameter: Parameter)]) throws {
        for (p, shadow) in try pairs(parameters) {
            let s = shadow.storage, x = p.storage
            for i in 0..<p.count { (s[i], x[i]) = (x[i], s[i]) }
            p.markUpdated()
            shadow.markUpdated()
        }
    }

    /// The averaged values by state-dict name.
    public func state() -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: shadows.map { ($0.name, $0.parameter.values) })
    }

    /// Replaces the average with a saved `state()`; throws, changing nothing, unless it holds
    /// exactly this average's names with their sizes.
    public func restore(_ state: [String: [Float]]) throws {
        guard Set(state.keys) == Set(index.keys) else {
            throw NeuralNetError.invalidArgument("EMA state names differ from the model's: "
                + "\(Set(state.keys).symmetricDifference(index.keys).sorted().prefix(5))")
        }
        for (name, p) in shadows where state[name]!.count != p.count {
            throw NeuralNetError.invalidArgument("EMA state \(name) has \(state[name]!.count) values, expected \(p.count)")
        }
        for (name, p) in shadows { try p.assign(state[name]!) }
    }

    /// Each parameter with its shadow; throws on a name the average does not hold or a shape
    /// that differs from the one it was started with.
    private func pairs(_ parameters: [(name: String, parameter: Parameter)]) throws -> [(Parameter, Parameter)] {
        try parameters.map { name, p in
            guard let i = index[name] else {
                throw NeuralNetError.invalidArgument("the EMA holds no parameter named \(name)")
            }
            let shadow = shadows[i].parameter
            guard shadow.shape == p.shape else {
                throw NeuralNetError.invalidShape("\(name) has shape \(p.shape), its EMA \(shadow.shape)")
            }
            return (p, shadow)
        }
    }
}
