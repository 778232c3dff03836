import Dermoscopy
import Foundation
import NeuralNet

/// Several models voting on each image, as the ISIC 2019 and SIIM-ISIC 2020 winners did.
///
/// Each member keeps its own preprocessing, input size, metadata spec and TTA: an image is
/// decoded and viewed once per member, through that member's pipeline, so a 224² ResNet and a
/// 64² EfficientNet (or fold models of one run) combine without any shared assumption but the
/// class list.
public final class Ensemble {
    public struct Member {
        public let predictor: Predictor
        /// As the manifest (or `--model`) spells it; `file` is where it was loaded from.
        public let name: String
        public let file: URL
        public let weight: Double
        public let tta: Int
    }

    public let members: [Member]
    public let combination: EnsembleManifest.Combination
    public let classNames: [String]
    /// Every member's metadata fields merged by name (see `unionSpec`); nil when none fuses metadata.
    public let metadataSpec: MetadataSpec?

    /// Loads every member, at `precision` when given (`--precision`), else at its file's own.
    public init(manifest: EnsembleManifest, relativeTo base: URL, precision: Precision? = nil) throws {
        try manifest.validate()
        var members: [Member] = []
        for entry in manifest.members {
            let url = entry.model.hasPrefix("/") ? URL(fileURLWithPath: entry.model) : base.appendingPathComponent(entry.model)
            let predictor = try Predictor(modelFile: url, precision: precision)
            members.append(Member(predictor: predictor, name: entry.model, file: url, weight: entry.weight ?? 1, tta: entry.tta ?? 1))
        }
        let classes = members[0].predictor.metadata.classNames
        for member in members where member.predictor.metadata.classNames != classes {
            throw ModelFileError(file: member.name, message: "classes \(member.predictor.metadata.classNames) differ from "
                                 + "\(members[0].name)'s \(classes): ensemble members must predict the same classes in the same order")
        }
        self.members = members
        self.classNames = classes
        combination = manifest.combination
        metadataSpec = try Self.unionSpec(members.compactMap { $0.predictor.metadata.metadataSpec })
    }

    /// Whether any member fuses patient metadata (each encodes it with its own spec).
    public var takesMetadata: Bool { members.contains { $0.predictor.takesMetadata } }

    /// The members' probabilities combined, one row per image. `rank` needs the whole set: it
    /// replaces each member's per-class score by its rank among the images before averaging.
    public func combine(_ perMember: [[[Double]]]) throws -> [[Double]] {
        let images = perMember[0].count
        let total = members.reduce(0) { $0 + $1.weight }
        switch combination {
        case .mean:
            return (0..<images).map { i in
                (0..<classNames.count).map { c in zip(members, perMember).reduce(0) { $0 + $1.0.weight * $1.1[i][c] } / total }
            }
        case .geometric:
            return (0..<images).map { i in
                normalized((0..<classNames.count).map { c in
                    exp(zip(members, perMember).reduce(0) { $0 + $1.0.weight * log(max($1.1[i][c], 1e-12)) } / total)
                })
            }
        case .rank:
            guard images >= 2 else {
                throw ModelFileError(file: "ensemble", message: "rank combination ranks images against each other: it needs a set "
                                     + "(evaluate, or predict on a folder), not one image")
            }
            let ranked = perMember.map { rows in
                (0..<classNames.count).map { c in Self.ranks(rows.map { $0[c] }) }
            }
            return (0..<images).map { i in
                normalized((0..<classNames.count).map { c in
                    zip(members, ranked).reduce(0) { $0 + $1.0.weight * $1.1[c][i] } / total
                })
            }
        }
    }

    /// Ranks in (0, 1], ties sharing their mean rank, as `scipy.stats.rankdata(...) / n`.
    static func ranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
            let mean = Double(start + end + 2) / 2
            for k in start...end { ranks[order[k]] = mean / Double(values.count) }
            start = end + 1
        }
        return ranks
    }

    private func normalized(_ row: [Double]) -> [Double] {
        let sum = row.reduce(0, +)
        return row.map { $0 / sum }
    }
}
