import Dermoscopy

/// A request's patient metadata for a fusion model: form fields (multipart) or query
/// parameters (raw image bodies), named as the model's spec names its features (`age`, `sex`,
/// `site`) or as their dataset columns. A field given once applies to every image of the
/// request; given once per image, the n-th value goes with the n-th image. For an ensemble the
/// names are checked against every member's fields (`union`), and each member encodes them
/// with its own spec.
enum RequestMetadata {
    /// Each member's vectors, one per image (nil for a member without metadata, whose spec is
    /// nil), and each image's values some spec did not know, for the reply.
    static func vectors(fields: [(name: String, value: String)], query: [(name: String, value: String)], images: Int,
                        union spec: MetadataSpec?, specs: [MetadataSpec?]) throws -> (vectors: [[[Float]]?], unknown: [[String]]) {
        let reserved: Set<String> = ["tta", "cam"]
        let given = fields + query.filter { !reserved.contains($0.name) }
        guard let spec else {
            guard given.isEmpty else {
                throw APIError(.badRequest, "this model takes no patient metadata; unexpected field(s) "
                               + Set(given.map(\.name)).sorted().joined(separator: ", "))
            }
            return (specs.map { _ in nil }, [[String]](repeating: [], count: images))
        }
        var perImage = [[String: String]](repeating: [:], count: images)
        for (name, values) in Dictionary(grouping: given, by: \.name).sorted(by: { $0.key < $1.key }) {
            guard let feature = spec.features.first(where: { $0.name == name || $0.column == name }) else {
                throw APIError(.badRequest, "unknown metadata field '\(name)'; this model takes \(spec.names.joined(separator: ", "))")
            }
            guard values.count == 1 || values.count == images else {
                throw APIError(.badRequest, "metadata field '\(name)' is given \(values.count) times for \(images) images: "
                               + "give it once (for all) or once per image")
            }
            for index in 0..<images { perImage[index][feature.name] = values[values.count == 1 ? 0 : index].value }
        }
        var unknown = [[String]](repeating: [], count: images)
        let vectors = try specs.map { member -> [[Float]]? in
            try member.map { member in
                try perImage.indices.map { index in
                    do {
                        let encoded = try member.encode(perImage[index])
                        for value in encoded.unknown where !unknown[index].contains(value) { unknown[index].append(value) }
                        return encoded.vector
                    } catch let error as MetadataError {
                        throw APIError(.badRequest, error.message)
                    }
                }
            }
        }
        return (vectors, unknown)
    }
}
