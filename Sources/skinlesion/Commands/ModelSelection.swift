import ArgumentParser
import Foundation
import Inference
import NeuralNet

/// One model, several (`--model A --model B`), or an `ensemble.json` manifest.
struct ModelSelection: ParsableArguments {
    @Option(name: .customLong("model"), parsing: .singleValue, help: "Model file; repeat for an equal-weight ensemble.")
    var models: [String] = []

    @Option(help: "Ensemble manifest (members, weights, TTA, combination), e.g. the ensemble.json of `train --folds`.")
    var ensemble: String?

    @Option(help: "How --model ensembles combine: mean (default), geometric or rank.")
    var combination: EnsembleManifest.Combination?

    func validate() throws {
        guard models.isEmpty != (ensemble == nil) else { throw ValidationError("give --model FILE (one or more) or --ensemble FILE") }
        if combination != nil, models.count < 2 {
            throw ValidationError("--combination goes with two or more --model; " + (ensemble.map { "\($0) sets its own" } ?? "one model is not combined"))
        }
    }

    /// The first (or only) model file, whose run directory holds the split manifest and epoch log.
    var primaryModel: URL {
        if let ensemble {
            let manifestURL = URL(fileURLWithPath: ensemble)
            let first = (try? EnsembleManifest.read(from: manifestURL))?.members.first?.model ?? ""
            return first.hasPrefix("/") ? URL(fileURLWithPath: first) : manifestURL.deletingLastPathComponent().appendingPathComponent(first)
        }
        return URL(fileURLWithPath: models[0])
    }

    /// Nil for a single `--model` (the plain predictor path, byte for byte as before ensembles).
    func loadEnsemble(tta: Int, precision: Precision? = nil) throws -> Ensemble? {
        guard ensemble != nil || models.count > 1 else { return nil }
        return try loadMembers(tta: tta, precision: precision)
    }

    /// The selection as an ensemble, a single `--model` as an ensemble of one (whose
    /// probabilities are exactly its own). `tta` is every `--model`'s; a manifest sets each
    /// member's, so `--tta` with `--ensemble` is refused rather than ignored. `precision`
    /// (`--precision`) runs every member at it; nil runs each at its file's own.
    func loadMembers(tta: Int, precision: Precision? = nil) throws -> Ensemble {
        if let ensemble {
            guard tta == 1 else { throw ValidationError("--tta goes with --model; \(ensemble) sets each member's tta") }
            let url = URL(fileURLWithPath: ensemble)
            return try Ensemble(manifest: EnsembleManifest.read(from: url), relativeTo: url.deletingLastPathComponent(),
                                precision: precision)
        }
        let manifest = EnsembleManifest(members: models.map { EnsembleManifest.Member(model: $0, tta: tta) },
                                        combination: combination ?? .mean)
        return try Ensemble(manifest: manifest, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                            precision: precision)
    }
}

extension EnsembleManifest.Combination: ExpressibleByArgument {}
