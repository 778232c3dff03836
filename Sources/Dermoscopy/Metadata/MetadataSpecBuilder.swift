/// Derives a `MetadataSpec` from the training split, the way Gessert et al. 2019 encode patient
/// data: numbers standardised with a missing indicator, categories one-hot with an unknown slot.
/// Only training records are looked at, so validation and test never leak into the encoding.
public enum MetadataSpecBuilder {
    /// Short names the CLI understands for the columns HAM10000 and ISIC use, first match wins.
    public static let knownColumns: [String: [String]] = [
        "age": ["age", "age_approx"],
        "sex": ["sex"],
        "site": ["localization", "anatom_site_general", "anatom_site_general_challenge", "anatom_site"],
    ]

    /// Other spellings of sites and sexes, each with the categories it may stand for in order of
    /// preference: a HAM10000-trained model then reads ISIC's `posterior torso` as `back`, and
    /// a user's `arm` as `upper extremity`.
    public static let knownAliases: [String: [String: [String]]] = [
        "site": ["arm": ["upper extremity"], "upper limb": ["upper extremity"], "leg": ["lower extremity"],
                 "lower limb": ["lower extremity"], "posterior torso": ["back", "trunk", "torso"], "back": ["posterior torso"],
                 "anterior torso": ["trunk", "torso"], "lateral torso": ["trunk", "torso"], "torso": ["trunk"],
                 "trunk": ["torso"], "chest": ["anterior torso"], "abdomen": ["anterior torso"],
                 "palms/soles": ["acral"], "acral": ["palms/soles"], "hand": ["palms/soles"], "foot": ["palms/soles"],
                 "oral/genital": ["genital"], "genital": ["oral/genital"], "head": ["head/neck", "face"],
                 "face": ["head/neck"], "scalp": ["head/neck"], "ear": ["head/neck"], "neck": ["head/neck"]],
        "sex": ["m": ["male"], "man": ["male"], "f": ["female"], "woman": ["female"]],
    ]

    /// A column needs this many present values to be called numeric rather than categorical.
    static let minimumNumericValues = 2
    /// More distinct values than this in a non-numeric column is an identifier, not a category.
    public static let maximumCategories = 256

    /// `names` as the user typed them (`age,sex,site` or any column of the dataset), resolved
    /// against the columns the training records carry.
    public static func derive(names: [String], from records: [DatasetRecord],
                              missingValues: [String] = MetadataSpec.standardMissingValues) throws -> MetadataSpec {
        guard !records.isEmpty else { throw MetadataError("no training records to derive the metadata spec from") }
        let available = Set(records.flatMap(\.metadata.keys))
        var features: [MetadataFeature] = []
        for name in names {
            guard let column = resolve(name, available: available) else {
                let known = knownColumns[name].map { " (looked for \($0.joined(separator: ", ")))" } ?? ""
                throw MetadataError("metadata '\(name)' is not a column of this dataset\(known); its columns are "
                                    + available.sorted().joined(separator: ", "))
            }
            let isMissing = { (raw: String?) in raw.map { missingValues.contains($0.trimmingCharacters(in: .whitespaces).lowercased()) } ?? true }
            let present = records.compactMap { $0.metadata[column] }.filter { !isMissing($0) }
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard !present.isEmpty else { throw MetadataError("metadata column '\(column)' has no values in the training split") }
            let numbers = present.compactMap { Double($0) }.filter(\.isFinite)
            if numbers.count == present.count, numbers.count >= minimumNumericValues {
                features.append(MetadataFeature(name: name, column: column, numeric: standardised(numbers)))
            } else {
                let categories = Set(present.map(CategoricalEncoding.canonical)).sorted()
                guard categories.count <= maximumCategories else {
                    throw MetadataError("metadata column '\(column)' has \(categories.count) distinct values in the training "
                                        + "split, more than the \(maximumCategories) a categorical feature may have")
                }
                features.append(MetadataFeature(name: name, column: column, categorical: CategoricalEncoding(
                    categories: categories, aliases: aliases(for: name, categories: categories))))
            }
        }
        return try MetadataSpec(features: features, missingValues: missingValues)
    }

    static func resolve(_ name: String, available: Set<String>) -> String? {
        if available.contains(name) { return name }
        return knownColumns[name]?.first { available.contains($0) }
    }

    /// Mean 0, standard deviation 1 on the training values; missing is filled with the mean (0).
    static func standardised(_ values: [Double]) -> NumericEncoding {
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        let sd = variance > 0 ? variance.squareRoot() : 1
        return NumericEncoding(scale: Float(1 / sd), shift: Float(-mean / sd))
    }

    /// The known aliases whose spelling is not itself a category, onto their first target that is.
    static func aliases(for name: String, categories: [String]) -> [String: String] {
        var result: [String: String] = [:]
        for (spelling, targets) in knownAliases[name] ?? [:] where !categories.contains(spelling) {
            if let target = targets.first(where: categories.contains) { result[spelling] = target }
        }
        return result
    }
}
