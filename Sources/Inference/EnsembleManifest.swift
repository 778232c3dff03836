import Foundation

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

    public func validate() throws {
        guard (1...Self.maximumMembers).contains(members.count) else {
            throw ModelFileError(file: "ensemble", message: "an ensemble has 1 to \(Self.maximumMembers) members, got \(members.count)")
        }
        for member in members {
            if let weight = member.weight, !(weight.isFinite && weight > 0) {
                throw ModelFileError(file: member.model, message: "ensemble weight must be positive, got \(weight)")
            }
            if let tta = member.tta, tta != 1 && tta != 8 {
                throw ModelFileError(file: member.model, message: "ensemble member tta must be 1 or 8, got \(tta)")
            }
        }
    }

    public static func read(from url: URL) throws -> EnsembleManifest {
        let data = try Data(contentsOf: url)
        guard data.count <= 1 << 20 else { throw ModelFileError(file: url.path, message: "an ensemble manifest is at most 1 MiB") }
        do {
            let manifest = try JSONDecoder().decode(EnsembleManifest.self, from: data)
            try manifest.validate()
            return manifest
        } catch let error as ModelFileError {
            throw error
        } catch {
            throw ModelFileError(file: url.path, message: "not an ensemble manifest ({\"members\": [{\"model\": …}], \"combination\": …}): \(error)")
        }
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}
