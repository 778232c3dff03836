import Foundation

/// One CSV record and the line it starts on, so a problem can point the user at it.
struct CSVRow: Sendable {
    let line: Int
    let fields: [String]

    /// The field at `index` without surrounding whitespace, or nil when the column is absent or the field
    /// empty: CSVs in the wild pad fields and leave them blank, and both mean "no value".
    func value(_ index: Int?) -> String? {
        guard let index, index < fields.count else { return nil }
        let value = CSVReader.trimmed(fields[index])
        return value.isEmpty ? nil : value
    }
}

/// An RFC 4180 reader written for untrusted label files: quoted fields (commas, doubled quotes and line
/// breaks inside quotes), CRLF / LF / CR line ends, a UTF-8 byte-order mark and blank lines are all handled,
/// and the file and every row are size-bounded so a hostile or mistaken input fails fast instead of
/// exhausting memory.
enum CSVReader {
    static let maxFileBytes = 256 << 20
    static let maxRowBytes = 1 << 20

    /// `text` without surrounding whitespace. Pure Swift: Foundation's `trimmingCharacters(in:)` bridges
    /// through NSString on Linux and made a 400 000-row ISIC export take ten seconds instead of one.
    static func trimmed(_ text: String) -> String {
        guard hasSurroundingWhitespace(text) else { return text }
        guard let start = text.firstIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(text[start...text.lastIndex(where: { !$0.isWhitespace })!])
    }

    /// Looks at bytes first: nearly every field starts and ends with printable ASCII, and Unicode property
    /// lookups for every field of a large CSV are measurable.
    static func hasSurroundingWhitespace(_ text: String) -> Bool {
        guard let first = text.utf8.first, let last = text.utf8.last else { return false }
        if (0x21..<0x7F).contains(first) && (0x21..<0x7F).contains(last) { return false }
        return text.first!.isWhitespace || text.last!.isWhitespace
    }

    /// Every non-blank row of the file.
    static func read(_ url: URL) throws -> [CSVRow] {
        try parse(readBytes(url, upTo: nil), file: url.path)
    }

    /// The first `count` rows, reading only the part of the file they can occupy (format detection).
    static func readHead(_ url: URL, rows count: Int) throws -> [CSVRow] {
        let budget = count * (maxRowBytes + 2) + 3
        let bytes = try readBytes(url, upTo: budget)
        return try parse(bytes, file: url.path, maxRows: count, isWholeFile: bytes.count < budget)
    }

    private static func readBytes(_ url: URL, upTo budget: Int?) throws -> [UInt8] {
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
        if let size, size > maxFileBytes {
            throw DatasetError(file: url.path, message: "CSV is \(size) bytes; the limit is \(maxFileBytes >> 20) MB")
        }
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw DatasetError(file: url.path, message: "cannot open: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        // Read one byte past the limit: a file that grew after the size check is still refused.
        let limit = min(budget ?? Int.max, maxFileBytes + 1)
        let data = try handle.read(upToCount: limit) ?? Data()
        if data.count > maxFileBytes {
            throw DatasetError(file: url.path, message: "CSV is larger than the \(maxFileBytes >> 20) MB limit")
        }
        return [UInt8](data)
    }

    /// Parses `bytes`. With `isWholeFile` false the bytes are a prefix, so a row cut off at the end is dropped
    /// rather than reported.
    static func parse(_ bytes: [UInt8], file: String, maxRows: Int? = nil, isWholeFile: Bool = true) throws -> [CSVRow] {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        var rows: [CSVRow] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var line = 1
        var rowLine = 1
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var rowStart = i

        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }
        func endRow() {
            endField()
            let blank = fields.count == 1 && fields[0].allSatisfy(\.isWhitespace)
            if !blank { rows.append(CSVRow(line: rowLine, fields: fields)) }
            fields.removeAll(keepingCapacity: true)
        }

        while i < bytes.count {
            if i - rowStart > maxRowBytes {
                throw DatasetError(file: file, line: rowLine, message: "row is longer than the \(maxRowBytes >> 20) MB limit")
            }
            let byte = bytes[i]
            if inQuotes {
                if byte == quote {
                    if i + 1 < bytes.count, bytes[i + 1] == quote {
                        field.append(quote)
                        i += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if byte == lf || (byte == cr && (i + 1 == bytes.count || bytes[i + 1] != lf)) { line += 1 }
                    field.append(byte)
                }
                i += 1
                continue
            }
            switch byte {
            case quote where field.isEmpty:
                inQuotes = true
            case comma:
                endField()
            case cr, lf:
                if byte == cr, i + 1 < bytes.count, bytes[i + 1] == lf { i += 1 }
                endRow()
                line += 1
                rowLine = line
                rowStart = i + 1
                if let maxRows, rows.count == maxRows { return rows }
            default:
                field.append(byte)
            }
            i += 1
        }
        guard isWholeFile else { return rows }
        if inQuotes {
            throw DatasetError(file: file, line: rowLine, message: "quoted field is never closed")
        }
        if !field.isEmpty || !fields.isEmpty { endRow() }
        return rows
    }
}

/// Column lookup by name, ignoring case and surrounding spaces, because headers in the wild vary in both.
struct CSVHeader {
    let names: [String]
    private let indexByName: [String: Int]

    init(_ row: CSVRow) {
        names = row.fields.map(CSVReader.trimmed)
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() where index[name.lowercased()] == nil { index[name.lowercased()] = i }
        indexByName = index
    }

    func index(of name: String) -> Int? { indexByName[name.lowercased()] }

    /// The first of `candidates` that is a column.
    func firstIndex(of candidates: [String]) -> Int? {
        candidates.lazy.compactMap { index(of: $0) }.first
    }

    func contains(_ name: String) -> Bool { index(of: name) != nil }

    /// The columns as a user would type them, for error messages.
    var listing: String { names.joined(separator: ", ") }
}
