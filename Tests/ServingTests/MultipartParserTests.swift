import Foundation
import XCTest
@testable import Serving

final class MultipartParserTests: XCTestCase {
    /// Binary bodies keep every byte, including CR, LF and dashes that look like a boundary.
    func testPartsKeepBinaryBodiesExactly() throws {
        let binary = Data([0x00, 0x0D, 0x0A, 0x2D, 0x2D, 0xFF, 0x0D, 0x0A, 0x0D, 0x0A, 0x41])
        var body = Data("preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a b.jpg\"\r\n".utf8)
        body += Data("Content-Type: image/jpeg\r\n\r\n".utf8) + binary
        body += Data("\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--XyZ--\r\n".utf8)
        let parts = try MultipartParser.parts(of: body, boundary: "XyZ")
        XCTAssertEqual(parts.count, 2)
        XCTAssertEqual(parts[0].name, "image")
        XCTAssertEqual(parts[0].fileName, "a b.jpg")
        XCTAssertEqual(parts[0].body, binary)
        XCTAssertEqual(String(decoding: parts[1].body, as: UTF8.self), "hello")
        let uploads = try UploadReader.read(body: body, contentType: "multipart/form-data; boundary=\"XyZ\"").uploads
        XCTAssertEqual(uploads.map(\.name), ["a b.jpg"], "only file parts are images")
    }

    /// multipart-kit 4.7.1 traps on a part header name byte ≥ 0x80 (a table lookup out of
    /// range): the two inputs the `multipart` and `upload` fuzz targets found (Content-Type
    /// line, then the body) are refused as 400s before it sees them, while non-ASCII header
    /// values (a UTF-8 file name) still pass.
    func testNonASCIIHeaderNamesAreRefusedNotACrash() throws {
        let found = [
            "bXVsdGlwYXJ0L2Zvcm0tZGF0YTsgYm91bmRhcnk9LS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tZDc0NDk2ZDY2OTU4ODczZQotLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLWQ3NDQ5NmQ2Njk1ODg3M2UNCkNvbnRlbnQtRGlzkJCMmXRpb246IGZvcm0tZGF0YTsgbmFtZT0iaW1hZ2UiOyBmaWxlbmFtZT0ibGlzZW9uLmpwZyINCkNvbnRlbnQtVHlwZTogaW1hZ2UvanBlZw0KDQr/2P/gABBKwAARCAAcABwDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAqO5uI7eFVQgsOOs=",
            "bXVsdGlwYXJ0L2Zvcm0tZGF0YTsgYm91bmRhcnk9LWQ3NDQ5NmQ2Njk1ODg3M2UKLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS1kNzQ0OTZkNjY5NTg4NzNlDQpDb2S6dGFlL2pwZWcNCg0KMDEBADQ0NB8=",
        ].map { Data(base64Encoded: $0)! }
        let secondPart = Data("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--B\r\nX-\u{E9}: 1\r\n\r\ny\r\n--B--".utf8)
        let requests = found.map { input -> (String, Data) in
            let newline = input.firstIndex(of: 0x0A)!
            return (String(decoding: input[..<newline], as: UTF8.self), input[(newline + 1)...])
        } + [("multipart/form-data; boundary=B", secondPart)]
        for (contentType, body) in requests {
            XCTAssertThrowsError(try UploadReader.read(body: body, contentType: contentType)) {
                XCTAssertEqual(($0 as? APIError)?.status, .badRequest)
                XCTAssertTrue(($0 as? APIError)?.message.contains("a part header name holds byte 0x") ?? false, "\($0)")
            }
        }
        let utf8Value = Data("--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"lis\u{E9}on.jpg\"\r\n\r\n\u{FF}\r\n--B--".utf8)
        XCTAssertEqual(try MultipartParser.parts(of: utf8Value, boundary: "B").first?.fileName, "lis\u{E9}on.jpg")
    }

    func testMalformedBodiesAreClearErrors() {
        let unclosed = Data("--B\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nabc".utf8)
        XCTAssertThrowsError(try MultipartParser.parts(of: unclosed, boundary: "B")) {
            XCTAssertTrue(($0 as? APIError)?.message.contains("not closed") ?? false, "\($0)")
        }
        XCTAssertThrowsError(try MultipartParser.parts(of: Data("no boundary here".utf8), boundary: "B")) {
            XCTAssertTrue(($0 as? APIError)?.message.contains("does not contain its boundary") ?? false, "\($0)")
        }
        let badHeader = Data("--B\r\nContent Disposition form-data\r\n\r\nabc\r\n--B--".utf8)
        XCTAssertThrowsError(try MultipartParser.parts(of: badHeader, boundary: "B")) {
            XCTAssertTrue(($0 as? APIError)?.message.contains("does not follow RFC 7578") ?? false, "\($0)")
        }
        let noFile = Data("--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--B--".utf8)
        XCTAssertThrowsError(try UploadReader.read(body: noFile, contentType: "multipart/form-data; boundary=B")) {
            XCTAssertEqual(($0 as? APIError)?.status, .badRequest)
        }
    }
}
