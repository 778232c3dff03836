/// One field of the metadata vector: where its raw value comes from and how it is encoded.
/// Exactly one of `numeric` and `categorical` is set, so the JSON reads as what it does.
public struct MetadataFeature: Codable, Sendable, Equatable {
    /// The name users and requests give (`age`, `sex`, `site`).
    public var name: String
    /// The dataset column it is read from (`age_approx`, `localization`).
    public var column: String
    public var numeric: NumericEncoding?
    public var categorical: CategoricalEncoding?

    public init(name: String, column: String, numeric: NumericEncoding) {
        (self.name, self.column, self.numeric) = (name, column, numeric)
    }

    public init(name: String, column: String, categorical: CategoricalEncoding) {
        (self.name, self.column, self.categorical) = (name, column, categorical)
    }

    public var width: Int { numeric?.width ?? categorical?.width ?? 0 }

    func validate() throws {
        switch (numeric, categorical) {
        case (let numeric?, nil): try numeric.validate(name)
        case (nil, let categorical?): try categorical.validate(name)
        default: throw MetadataError("metadata feature '\(name)' must be exactly one of numeric or categorical")
        }
    }

    /// The slots for one present value (or nil when missing) and whether it was an unknown category.
    func encode(_ value: String?) throws -> (slots: [Float], unknown: Bool) {
        if let numeric { return (try numeric.encode(value, feature: name), false) }
        return categorical!.encode(value)
    }
}

/// A number, standardised: `value × scale + shift` (scale 1/sd, shift −mean/sd when derived
/// from the training split); `fill` when missing, plus a slot that is 1 exactly when missing.
public struct NumericEncoding: Codable, Sendable, Equatable {
    public var scale: Float
    public var shift: Float
    public var fill: Float
    public var missingIndicator: Bool

    public init(scale: Float, shift: Float, fill: Float = 0, missingIndicator: Bool = true) {
        (self.scale, self.shift, self.fill, self.missingIndicator) = (scale, shift, fill, missingIndicator)
    }

    var width: Int { missingIndicator ? 2 : 1 }

    func validate(_ name: String) throws {
        guard scale.isFinite, scale != 0, shift.isFinite, fill.isFinite else {
            throw MetadataError("metadata feature '\(name)': scale must be finite and non-zero, shift and fill finite")
        }
    }

    func encode(_ value: String?, feature: String) throws -> [Float] {
        guard let value else { return missingIndicator ? [fill, 1] : [fill] }
        guard let number = Double(value), number.isFinite else {
            throw MetadataError("metadata '\(feature)' must be a number, got '\(value)'")
        }
        let encoded = Float(number) * scale + shift
        return missingIndicator ? [encoded, 0] : [encoded]
    }
}

/// One-hot over `categories`; `aliases` map other spellings onto them (`arm` →
/// `upper extremity`); with `unknownSlot`, a value outside the list lights one extra slot
/// instead of failing. A missing value is all zeros.
public struct CategoricalEncoding: Codable, Sendable, Equatable {
    public var categories: [String]
    public var aliases: [String: String]
    public var unknownSlot: Bool

    public init(categories: [String], aliases: [String: String] = [:], unknownSlot: Bool = true) {
        (self.categories, self.aliases, self.unknownSlot) = (categories, aliases, unknownSlot)
    }

    var width: Int { categories.count + (unknownSlot ? 1 : 0) }

    func validate(_ name: String) throws {
        guard !categories.isEmpty, Set(categories).count == categories.count else {
            throw MetadataError("metadata feature '\(name)': categories must be non-empty and distinct")
        }
        for (alias, target) in aliases where !categories.contains(target) {
            throw MetadataError("metadata feature '\(name)': alias '\(alias)' names '\(target)', which is not a category")
        }
    }

    /// Values compare lower-cased, as datasets spell the same site in either case.
    static func canonical(_ value: String) -> String { value.lowercased() }

    func encode(_ value: String?) -> (slots: [Float], unknown: Bool) {
        var slots = [Float](repeating: 0, count: width)
        guard let value else { return (slots, false) }
        let key = Self.canonical(value)
        let resolved = aliases.first { Self.canonical($0.key) == key }.map { Self.canonical($0.value) } ?? key
        if let index = categories.firstIndex(where: { Self.canonical($0) == resolved }) {
            slots[index] = 1
            return (slots, false)
        }
        if unknownSlot { slots[categories.count] = 1 }
        return (slots, true)
    }
}
