import Foundation

/// multipart-kit 4.7.1 looks up every byte of a part header's name in a 128-entry table, so a
/// name byte ≥ 0x80 indexes past it and traps: one request would crash `serve` (found by the
/// `multipart` fuzz target). Until a release fixes it, bodies that would reach that lookup are
/// refused here first.
///
/// The parser reads header names only right after a delimiter `--BOUNDARY` followed by CRLF,
/// and after each header line's CRLF, until the empty line that starts the part's body. This
/// walks those same states from every occurrence of the delimiter (the parser matches only
/// literal occurrences, so this covers all it could match), and stops where the parser would
/// stop: at a byte it refuses (a syntax error, which it throws) or at the body.
enum MultipartHeaderGuard {
    static func check(_ body: Data, boundary: String) throws {
        let delimiter = Data("--\(boundary)".utf8)
        var searchFrom = body.startIndex
        while let found = body.range(of: delimiter, in: searchFrom..<body.endIndex) {
            if let offset = nonASCIIHeaderName(in: body, from: found.upperBound) {
                throw APIError(.badRequest, "malformed multipart body: a part header name holds byte "
                               + String(format: "0x%02X", body[offset]) + " at offset \(offset - body.startIndex); "
                               + "header names are ASCII (RFC 7578)")
            }
            searchFrom = found.lowerBound + 1
        }
    }

    /// The index of a header-name byte ≥ 0x80 in the headers after the delimiter ending at
    /// `start`, nil when the parser would not reach one.
    private static func nonASCIIHeaderName(in body: Data, from start: Data.Index) -> Data.Index? {
        var index = start
        func next() -> UInt8? {
            guard index < body.endIndex else { return nil }
            defer { index += 1 }
            return body[index]
        }
        guard next() == 13, next() == 10 else { return nil }  // the delimiter line's CRLF, else no headers
        while true {
            // A header name: allowed characters up to ':'; CR on an empty name ends the headers.
            var name = 0
            while true {
                guard let byte = next() else { return nil }
                if byte >= 0x80 { return index - 1 }
                if byte == UInt8(ascii: ":") && name > 0 { break }
                guard isNameCharacter(byte) else { return nil }
                name += 1
            }
            // Its value runs to CR, which LF must follow.
            while let byte = next(), byte != 13 {}
            guard next() == 10 else { return nil }
        }
    }

    /// RFC 822 token characters: printable ASCII except the tspecials.
    private static func isNameCharacter(_ byte: UInt8) -> Bool {
        (33...126).contains(byte) && !"()<>@,;:\\\"/[]?={}".utf8.contains(byte)
    }
}
