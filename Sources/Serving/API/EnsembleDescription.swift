import Crypto
import Dermoscopy
import Foundation
import Inference

/// `GET /v1/model`'s `ensemble`: how the members combine and what each one is and expects, so a
/// client can see which models vote, with what weight, on which view of the image.
struct EnsembleDescription: Codable {
    let combination: String
    let members: [Member]

    struct Member: Codable {
        let model: ModelIdentity
        let file: String
        let weight: Double
        let tta: Int
        let inputSize: Int
        let preprocessing: String
        let temperature: Float?
        let metadataFields: [ModelResponse.MetadataField]?

        enum CodingKeys: String, CodingKey {
            case model, file, weight, tta, preprocessing, temperature
            case inputSize = "input_size"
            case metadataFields = "metadata_fields"
        }
    }
}

extension ModelIdentity {
    /// A single model's own identity; an ensemble's id is the digest of its members' ids,
    /// weights, TTA and combination, so it changes whenever any of them does.
    init(ensemble: Ensemble, members: [ModelIdentity], version: String?) {
        guard members.count > 1 else {
            self.init(id: members[0].id, version: version ?? members[0].version, architecture: members[0].architecture)
            return
        }
        let recipe = ([ensemble.combination.rawValue] + zip(ensemble.members, members).map { "\($1.id) \($0.weight) \($0.tta)" })
            .joined(separator: "\n")
        self.init(id: String(SHA256.hex(Data(recipe.utf8)).prefix(16)), version: version ?? "ensemble-of-\(members.count)",
                  architecture: "ensemble(" + members.map(\.architecture).joined(separator: "+") + ")")
    }
}

extension ModelResponse.MetadataField {
    /// The fields of `spec` as `/v1/model` lists them; nil for a model without metadata.
    static func list(_ spec: MetadataSpec?) -> [Self]? {
        spec?.features.map {
            Self(name: $0.name, column: $0.column, kind: $0.numeric != nil ? "number" : "category", categories: $0.categorical?.categories)
        }
    }
}

extension ModelResponse {
    /// What `service` serves. For an ensemble the top-level input size and preprocessing are
    /// the first member's, the temperature is absent (the combination has none), the metadata
    /// fields are every member's, and `ensemble` describes each member.
    init(_ service: PredictionService) {
        let ensemble = service.ensemble
        let first = ensemble.members[0].predictor.metadata
        let single = ensemble.members.count == 1
        let members = zip(ensemble.members, service.memberIdentities).map { member, identity in
            let metadata = member.predictor.metadata
            return EnsembleDescription.Member(model: identity, file: member.name, weight: member.weight, tta: member.tta,
                                              inputSize: metadata.inputSize, preprocessing: metadata.preprocessing.summary,
                                              temperature: metadata.temperature, metadataFields: MetadataField.list(metadata.metadataSpec))
        }
        self.init(model: service.identity, classes: ensemble.classNames, inputSize: first.inputSize, preprocessing: first.preprocessing.summary,
                  temperature: single ? first.temperature : nil, lowConfidenceThreshold: service.options.lowConfidenceThreshold,
                  intendedUse: first.intendedUse,
                  dataLicenses: single ? first.training?.dataLicenses ?? []
                                       : ensemble.members.flatMap { $0.predictor.metadata.training?.dataLicenses ?? [] }.uniqued(),
                  card: service.card, metadataFields: MetadataField.list(ensemble.metadataSpec),
                  ensemble: single ? nil : EnsembleDescription(combination: ensemble.combination.rawValue, members: members))
    }
}

extension ModelCard {
    /// A single model's card, or an ensemble's: a table of the members, then each member's card.
    static func markdown(_ ensemble: Ensemble) -> String {
        let cards = ensemble.members.map { markdown($0.predictor.metadata, file: $0.file.lastPathComponent) }
        guard ensemble.members.count > 1 else { return cards[0] }
        let rows = ensemble.members.map { "| \($0.name) | \($0.predictor.metadata.architecture) | \($0.weight) | \($0.tta) |" }
        return (["# Ensemble of \(ensemble.members.count) models (\(ensemble.combination.rawValue))", "",
                 "| member | architecture | weight | tta |", "|---|---|---|---|"] + rows + [""] + cards)
            .joined(separator: "\n")
    }
}

private extension Array where Element == DataLicense {
    func uniqued() -> [DataLicense] {
        reduce(into: []) { kept, licence in if !kept.contains(licence) { kept.append(licence) } }
    }
}
