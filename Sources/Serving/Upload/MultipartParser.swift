import Foundation
import MultipartKit

/// RFC 7578 `multipart/form-data` as browsers and curl send uploads, parsed by vapor's
/// multipart-kit; this only collects its events into parts and says, in API errors, what was
/// wrong with a body it could not take. Bodies are kept byte for byte (images hold any byte).
enum MultipartParser {
    struct Part {
        let name: String?
        let fileName: String?
        let body: Data
    }

    static func parts(of body: Data, boundary: String) throws -> [Part] {
        guard !boundary.isEmpty else { throw APIError(.badRequest, "multipart/form-data without a boundary parameter") }
        try MultipartHeaderGuard.check(body, boundary: boundary)
        let parser = MultipartKit.MultipartParser(boundary: boundary)
        var parts: [Part] = []
        var headers: [(String, String)] = []
        var content = Data()
        var open = false
        parser.onHeader = { name, value in
            headers.append((name.lowercased(), value))
            open = true
        }
        parser.onBody = { chunk in
            content.append(contentsOf: chunk.readableBytesView)
            open = true
        }
        parser.onPartComplete = {
            let disposition = headers.first { $0.0 == "content-disposition" }?.1 ?? ""
            let (_, parameters) = UploadReader.parse(disposition)
            parts.append(Part(name: parameters["name"], fileName: parameters["filename"], body: content))
            (headers, content, open) = ([], Data(), false)
        }
        do {
            try parser.execute(ByteBuffer(bytes: body))
        } catch {
            throw APIError(.badRequest, "malformed multipart body: a boundary line or part header does not follow RFC 7578")
        }
        guard !open else {
            throw APIError(.badRequest, "malformed multipart body: the last part is not closed by '--\(boundary)--'")
        }
        guard !parts.isEmpty || body.range(of: Data("--\(boundary)".utf8)) != nil else {
            throw APIError(.badRequest, "multipart body does not contain its boundary '\(boundary)'")
        }
        return parts
    }
}
