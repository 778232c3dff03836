import Foundation

/// How patient metadata (age, sex, anatomical site, …) becomes the vector a fusion model reads.
///
/// One JSON format serves every model: `train --metadata` derives it from the training split,
/// `import --metadata-spec` takes it for a Keras model (whose file does not record how its
/// vector was made), and it is stored in the model file, so the CLI, the evaluator and the
/// server all encode through the same spec and never re-derive it.
public struct MetadataSpec: Codable, Sendable, Equatable {
    public static let formatVersion = 1
    /// Spellings that mean "not recorded" (compared lower-cased, trimmed): HAM10000 writes
    /// `unknown`, ISIC leaves the field empty or writes `NA`.
    public static let standardMissingValues = ["", "unknown", "unk", "nan", "na", "n/a", "none", "null", "?", "-"]

    public var formatVersion = Self.formatVersion
    /// The features in vector order.
    public var features: [MetadataFeature]
    /// Raw values that mean "missing".
    public var missingValues: [String]

    public init(features: [MetadataFeature], missingValues: [String] = Self.standardMissingValues) throws {
        self.features = features
        self.missingValues = missingValues
        try validate()
    }

    /// The length of the encoded vector.
    public var width: Int { features.reduce(0) { $0 + $1.width } }

    /// The names a request or the CLI uses, in vector order.
    public var names: [String] { features.map(\.name) }

    /// Checks the parts a hand-written (imported) spec could get wrong; the encoder relies on them.
    public func validate() throws {
        guard !features.isEmpty else { throw MetadataError("the metadata spec has no features") }
        var seen = Set<String>()
        for feature in features {
            guard !feature.name.isEmpty, seen.insert(feature.name).inserted else {
                throw MetadataError("metadata feature names must be non-empty and distinct; '\(feature.name)' is not")
            }
            try feature.validate()
        }
    }

    public func isMissing(_ raw: String?) -> Bool {
        guard let raw else { return true }
        return missingValues.contains(raw.trimmingCharacters(in: .whitespaces).lowercased())
    }

    /// Encodes one image's raw values, keyed by feature name or by dataset column. Features in
    /// `dropped` are encoded as missing (training's feature dropout). Unknown categories land
    /// in their feature's unknown slot and are returned so the caller can report them.
    public func encode(_ values: [String: String], dropped: Set<Int> = []) throws -> (vector: [Float], unknown: [String]) {
        var vector: [Float] = []
        vector.reserveCapacity(width)
        var unknown: [String] = []
        for (index, feature) in features.enumerated() {
            let raw = dropped.contains(index) ? nil : (values[feature.name] ?? values[feature.column])
            let value = isMissing(raw) ? nil : raw!.trimmingCharacters(in: .whitespaces)
            let encoded = try feature.encode(value)
            vector += encoded.slots
            if encoded.unknown, let value { unknown.append("\(feature.name)=\(value)") }
        }
        return (vector, unknown)
    }

    /// Values a user typed as `age=55,sex=male,site=back` (the CLI's `--metadata`). Names
    /// must be the spec's; an empty value is legal and means missing.
    public func parse(assignments text: String) throws -> [String: String] {
        var values: [String: String] = [:]
        for part in text.split(separator: ",", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = pieces[0].trimmingCharacters(in: .whitespaces)
            guard pieces.count == 2 else { throw MetadataError("metadata '\(part)' is not name=value") }
            guard let feature = features.first(where: { $0.name == name || $0.column == name }) else {
                throw MetadataError("unknown metadata field '\(name)'; this model takes \(names.joined(separator: ", "))")
            }
            values[feature.name] = String(pieces[1])
        }
        return values
    }

    public static func decode(_ data: Data, file: String) throws -> MetadataSpec {
        let spec: MetadataSpec
        do {
            spec = try JSONDecoder().decode(MetadataSpec.self, from: data)
        } catch {
            throw MetadataError("\(file): not a metadata spec: \(error)")
        }
        guard spec.formatVersion <= formatVersion else {
            throw MetadataError("\(file): metadata spec version \(spec.formatVersion) is newer than this SkinLesion reads (\(formatVersion))")
        }
        do { try spec.validate() } catch let error as MetadataError { throw MetadataError("\(file): \(error.message)") }
        return spec
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }
}

public struct MetadataError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
