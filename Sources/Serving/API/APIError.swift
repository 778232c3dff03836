import Foundation
import Hummingbird

/// Every failure the API reports: a status and a message that says what was wrong and what
/// is expected, as JSON `{"error": {"status": 415, "message": "…"}}`, plus headers such as
/// `Retry-After`.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = ErrorBody(error: .init(status: Int(status.code), message: message))
        var response = try JSONResponse.make(body, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }
}

struct ErrorBody: Codable {
    struct Detail: Codable {
        let status: Int
        let message: String
    }
    let error: Detail
}
