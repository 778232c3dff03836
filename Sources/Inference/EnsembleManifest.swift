import Foundation
import NeuralNet

/// `ensemble.json`: which model files vote, with what weight and TTA, and how their
/// probabilities combine. Paths are relative to the manifest's folder, so a cross-validation
/// run's manifest travels with its `fold-N/` directories.
public struct EnsembleManifest: Codable, Sendable, Equatable {
    public enum Combination: String, Codable, Sendable, CaseIterable {
        /// Weighted arithmetic mean of the probabilities.
        case mean
        /// Weighted geometric mean, renormalised: a member that is sure a class is absent vetoes it.
        case geometric
        /// Weighted mean of each class's rank among the images (SIIM-ISIC 2020's winners): for
        /// AUC, insensitive to members' differing calibration.
        case rank
    }

    public struct Member: Codable, Sendable, Equatable {
        public var model: String
        public var weight: Double?
        public var tta: Int?

        public init(model: String, weight: Double? = nil, tta: Int? = nil) {
            (self.model, self.weight, self.tta) = (model, weight, tta)
        }
    }

    public static let maximumMembers = 64

    public var members: [Member]
    public var combination: Combination

    public init(members: [Member], combination: Combination = .mean) {
        self.members = members
        self.combination = combination
    }

    /// Checks the counts, weights and TTA; errors name the field (`members[2].weight`).
    public func validate() throws {
        guard (1...Self.maximumMembers).contains(members.count) else {
            throw ModelFileError(file: "ensemble", message: "members: an ensemble has 1 to \(Self.maximumMembers) members, got \(members.count)")
        }
        for (index, member) in members.enumerated() {
            guard !member.model.isEmpty else { throw ModelFileError(file: "ensemble", message: "members[\(index)].model is empty") }
            if let weight = member.weight, !(weight.isFinite && weight > 0) {
                throw ModelFileError(file: "ensemble", message: "members[\(index)].weight (\(member.model)) must be positive, got \(weight)")
            }
            if let tta = member.tta, tta != 1 && tta != 8 {
                throw ModelFileError(file: "ensemble", message: "members[\(index)].tta (\(member.model)) must be 1 or 8, got \(tta)")
            }
        }
    }

    /// The manifest at `url`; every error names the file and the field.
    public static func read(from url: URL) throws -> EnsembleManifest {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ModelFileError(file: url.path, message: "cannot read the ensemble manifest: \(error.localizedDescription)")
        }
        guard data.count <= 1 << 20 else { throw ModelFileError(file: url.path, message: "an ensemble manifest is at most 1 MiB") }
        let manifest: EnsembleManifest
        do {
            manifest = try JSONDecoder().decode(EnsembleManifest.self, from: data)
        } catch {
            throw ModelFileError(file: url.path, message: "not an ensemble manifest ({\"members\": [{\"model\": …}], \"combination\": "
                                 + "\"mean\"|\"geometric\"|\"rank\"}): \(Self.describe(error))")
        }
        do {
            try manifest.validate()
        } catch let error as ModelFileError {
            throw ModelFileError(file: url.path, message: error.message)
        }
        return manifest
    }

    /// A decoding error as the field it is about and what was wrong, not Swift's dump of it.
    private static func describe(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            let text = keys.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
            return text.hasPrefix(".") ? String(text.dropFirst()) : text
        }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?: return "missing field \(path(context.codingPath + [key]))"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            return "\(path(context.codingPath)): \(context.debugDescription)"
        case .dataCorrupted(let context)?:
            return context.codingPath.isEmpty ? "not JSON: \(context.underlyingError.map { "\($0)" } ?? context.debugDescription)"
                                              : "\(path(context.codingPath)): \(context.debugDescription)"
        default: return "\(error)"
        }
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(self), to: url)
    }
}
