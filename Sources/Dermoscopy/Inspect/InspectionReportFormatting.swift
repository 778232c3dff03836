import Foundation

extension InspectionReport {
    /// Long lists are cut here: a terminal report should point at the problem, not reprint the dataset.
    private static let listLimit = 10

    /// A human-readable report: a class × split table, then lesions, sizes and problems.
    public func formatted() -> String {
        var lines = ["\(images) images, \(lesions.map { "\($0) lesions" } ?? "no lesion ids"), \(classes.count) classes", ""]
        lines += classTable()
        if !imagesPerLesion.isEmpty {
            let histogram = imagesPerLesion.keys.sorted().map { "\($0) image\($0 == 1 ? "" : "s"): \(imagesPerLesion[$0]!)" }
            lines += ["", "lesions by image count: " + histogram.joined(separator: ", ")]
        }
        lines.append("")
        if let sizes = imageSizes {
            let common = sizes.mostCommon.map { "\($0.width)×\($0.height) (\($0.count))" }.joined(separator: ", ")
            lines.append("image sizes (\(sizes.measured) read): width \(sizes.minWidth)–\(sizes.maxWidth), mean "
                + String(format: "%.1f", sizes.meanWidth) + "; height \(sizes.minHeight)–\(sizes.maxHeight), mean "
                + String(format: "%.1f", sizes.meanHeight) + "; most common \(common)")
        } else {
            lines.append("image sizes: none read")
        }
        if !problemCounts.isEmpty {
            lines.append("loader problems: " + problemCounts.keys.sorted().map { "\($0) \(problemCounts[$0]!)" }.joined(separator: ", "))
        }
        lines += Self.list("duplicate images", duplicates)
        lines += Self.list("missing files", missingFiles)
        lines += Self.list("unreadable files", unreadableFiles.map { "\($0.path): \($0.reason)" })
        return lines.joined(separator: "\n")
    }

    private func classTable() -> [String] {
        let nameWidth = max(5, classes.map(\.count).max() ?? 0)
        let widths = classCounts.map { max($0.split.count, String($0.total).count) }
        func row(_ name: String, _ cells: [String]) -> String {
            ([name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)]
                + zip(cells, widths).map { String(repeating: " ", count: max(0, $1 - $0.count)) + $0 })
                .joined(separator: "  ")
        }
        var lines = [row("class", classCounts.map(\.split))]
        for (index, name) in classes.enumerated() {
            lines.append(row(name, classCounts.map { String($0.counts[index]) }))
        }
        lines.append(row("total", classCounts.map { String($0.total) }))
        return lines
    }

    private static func list(_ title: String, _ items: [String]) -> [String] {
        guard !items.isEmpty else { return [] }
        var lines = ["\(title) (\(items.count)):"] + items.prefix(listLimit).map { "  " + $0 }
        if items.count > listLimit { lines.append("  … and \(items.count - listLimit) more") }
        return lines
    }
}
