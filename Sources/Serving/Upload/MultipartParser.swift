import Foundation

/// RFC 7578 `multipart/form-data`, enough for browsers' and curl's file uploads: parts
/// separated by `--boundary` lines, each with headers, a blank line and the body, ended by
/// `--boundary--`. Bodies are taken byte for byte (binary images contain any byte).
enum MultipartParser {
    struct Part {
        let name: String?
        let fileName: String?
        let body: Data
    }

    static func parts(of body: Data, boundary: String) throws -> [Part] {
        let delimiter = Data("--\(boundary)".utf8)
        let crlf = Data("\r\n".utf8)
        guard let first = body.range(of: delimiter) else {
            throw APIError(.badRequest, "multipart body does not contain its boundary '\(boundary)'")
        }
        var parts: [Part] = []
        var cursor = first.upperBound
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if body[cursor...].starts(with: Data("--".utf8)) { return parts }
            guard body[cursor...].starts(with: crlf) else {
                throw APIError(.badRequest, "malformed multipart body: expected a line break after the boundary")
            }
            let headerStart = cursor + 2
            guard let headerEnd = body.range(of: Data("\r\n\r\n".utf8), in: headerStart..<body.endIndex) else {
                throw APIError(.badRequest, "malformed multipart body: a part has no end of headers")
            }
            let headers = String(decoding: body[headerStart..<headerEnd.lowerBound], as: UTF8.self)
            guard let next = body.range(of: crlf + delimiter, in: headerEnd.upperBound..<body.endIndex) else {
                throw APIError(.badRequest, "malformed multipart body: the last part is not closed by '--\(boundary)--'")
            }
            let disposition = headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-disposition:") }
            let (_, parameters) = UploadReader.parse(disposition.map { String($0.dropFirst("content-disposition:".count)) } ?? "")
            parts.append(Part(name: parameters["name"], fileName: parameters["filename"],
                              body: Data(body[headerEnd.upperBound..<next.lowerBound])))
            cursor = next.upperBound
        }
    }
}
