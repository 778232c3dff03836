import Dermoscopy
import Foundation

/// One member's probabilities, shown beside the ensemble's so a user sees which model said what.
public struct MemberProbabilities: Codable, Sendable, Equatable {
    public let model: String
    public let tta: Int
    public let probabilities: [Double]
}

/// Predictions of single images with an ensemble, for `predict` and `serve`. A single model is
/// an ensemble of one: the mean of one row is that row, so its output is exactly the model's.
extension Ensemble {
    /// Flags results whose ensemble probability of the top class is below it.
    public var lowConfidenceThreshold: Double {
        get { members[0].predictor.lowConfidenceThreshold }
        set { members.forEach { $0.predictor.lowConfidenceThreshold = newValue } }
    }

    /// Whether an image's combined probabilities depend on the other images (`rank`), so a
    /// set must be predicted before any of it is combined.
    public var combinesAcrossImages: Bool { combination == .rank }

    /// Each member's probabilities for one image file, through its own pipeline, metadata spec
    /// and TTA (`values` are the raw metadata; each member encodes the fields its spec has), and
    /// the values some member's spec did not know.
    public func memberProbabilities(of url: URL, metadata values: [String: String]) throws -> (rows: [[Double]], unknown: [String]) {
        var unknown: [String] = []
        let rows = try members.map { member -> [Double] in
            let p = member.predictor
            let encoded = p.takesMetadata ? try p.encodeMetadata(values) : nil
            for value in encoded?.unknown ?? [] where !unknown.contains(value) { unknown.append(value) }
            return try p.probabilities([p.view(of: url)], metadata: encoded.map { [$0.vector] }, tta: member.tta)[0]
        }
        return (rows, unknown)
    }

    /// One image file's prediction; `rank` refuses (it needs a set).
    public func predict(_ url: URL, metadata values: [String: String] = [:]) throws -> Prediction {
        let (rows, unknown) = try memberProbabilities(of: url, metadata: values)
        return try prediction(image: url.path, probabilities: combine(rows.map { [$0] })[0], members: rows, unknown: unknown)
    }

    /// The result for one image's combined probabilities and its members' rows (`tta`: what
    /// each member ran, when not its own): top class and low-confidence flag come from the
    /// combined probabilities; the members are listed for a real ensemble only.
    public func prediction(image: String, probabilities: [Double], members rows: [[Double]], unknown: [String],
                           tta: [Int]? = nil) throws -> Prediction {
        var result = try members[0].predictor.prediction(image: image, probabilities: probabilities)
        if !unknown.isEmpty { result.unknownMetadata = unknown }
        guard members.count > 1 else { return result }
        for (member, row) in zip(members, rows) { try NonFiniteProbabilityError.check(row, image: "\(image) (\(member.name))", classes: classNames) }
        result.calibrated = members.allSatisfy { $0.predictor.metadata.temperature != nil }
        result.members = members.indices.map {
            MemberProbabilities(model: members[$0].name, tta: tta?[$0] ?? members[$0].tta, probabilities: rows[$0])
        }
        return result
    }

    /// The fields `--metadata` and a request may name: every member's features by name, the
    /// first member's encoding of a shared name with every member's categories added. It only
    /// checks and lists names; each member encodes the values with its own spec.
    static func unionSpec(_ specs: [MetadataSpec]) throws -> MetadataSpec? {
        guard let first = specs.first else { return nil }
        var features: [MetadataFeature] = []
        for feature in specs.flatMap(\.features) {
            guard let index = features.firstIndex(where: { $0.name == feature.name }) else {
                features.append(feature)
                continue
            }
            for category in feature.categorical?.categories ?? [] where features[index].categorical?.categories.contains(category) == false {
                features[index].categorical?.categories.append(category)
            }
        }
        return try MetadataSpec(features: features, missingValues: first.missingValues)
    }
}
