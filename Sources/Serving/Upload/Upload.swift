import Foundation

/// One image as it arrived: its bytes, and the file name the client gave (for the reply only:
/// names are never logged, as they can carry patient identifiers).
struct Upload {
    let name: String?
    let data: Data
}

/// A request's images and its text form fields (patient metadata for a fusion model), in order.
struct UploadedForm {
    let uploads: [Upload]
    let fields: [(name: String, value: String)]
}

/// Turns a request body into uploads. Images come as a raw body (`image/jpeg`, `image/png`,
/// `application/octet-stream`) or as `multipart/form-data` file parts; the declared type is
/// only a routing hint, the format itself is always sniffed from the bytes.
enum UploadReader {
    static let rawTypes: Set<String> = ["image/jpeg", "image/png", "application/octet-stream"]

    static func read(body: Data, contentType: String?) throws -> UploadedForm {
        guard !body.isEmpty else {
            throw APIError(.badRequest, "empty body: send a JPEG or PNG image as the body or as a multipart/form-data file part")
        }
        let (mediaType, parameters) = parse(contentType ?? "")
        if rawTypes.contains(mediaType) { return UploadedForm(uploads: [Upload(name: nil, data: body)], fields: []) }
        guard mediaType == "multipart/form-data" else {
            throw APIError(.unsupportedMediaType,
                           "Content-Type '\(contentType ?? "(none)")' is not accepted: use image/jpeg, image/png, "
                           + "application/octet-stream or multipart/form-data")
        }
        guard let boundary = parameters["boundary"], !boundary.isEmpty else {
            throw APIError(.badRequest, "multipart/form-data without a boundary parameter")
        }
        let parts = try MultipartParser.parts(of: body, boundary: boundary)
        let isFile = { (part: MultipartParser.Part) in part.fileName != nil || part.name == "image" }
        let files = parts.filter(isFile)
        guard !files.isEmpty else {
            throw APIError(.badRequest, "the multipart body has no file part: send the image as a part named 'image'")
        }
        for file in files where file.body.isEmpty {
            throw APIError(.badRequest, "file part '\(file.fileName ?? file.name ?? "image")' is empty")
        }
        var fields: [(name: String, value: String)] = []
        for part in parts where !isFile(part) {
            guard let name = part.name, let value = String(data: part.body, encoding: .utf8) else {
                throw APIError(.badRequest, "form field '\(part.name ?? "(unnamed)")' is not a named UTF-8 text field")
            }
            fields.append((name, value))
        }
        return UploadedForm(uploads: files.map { Upload(name: $0.fileName, data: $0.body) }, fields: fields)
    }

    /// `type/subtype; key=value; …` → lower-cased media type and parameters (quotes removed).
    static func parse(_ header: String) -> (String, [String: String]) {
        let pieces = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        var parameters: [String: String] = [:]
        for piece in pieces.dropFirst() {
            guard let equals = piece.firstIndex(of: "=") else { continue }
            let key = piece[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = piece[piece.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            parameters[key] = value
        }
        return ((pieces.first ?? "").lowercased(), parameters)
    }
}
