import Dermoscopy
import Models

extension Preprocessing {
    /// The loader's normalization for this preprocessing: a named mode, or the stored
    /// per-channel mean and std. `source` names the model file or architecture in the error.
    public func normalization(source: String) throws -> Normalization {
        let found = mode == Normalization.Mode.perChannel.rawValue
            ? Normalization.perChannel(mean: mean.map(Double.init), std: std.map(Double.init))
            : Normalization(rawValue: mode)
        guard let found else {
            throw ModelFileError(file: source, message: "preprocessing '\(mode)' (mean \(mean), std \(std)) is not one "
                                 + "SkinLesion knows: \(Normalization.Mode.allCases.map(\.rawValue).joined(separator: ", ")), "
                                 + "perChannel with three means and three non-zero deviations")
        }
        return found
    }
}
