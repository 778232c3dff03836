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

    func testMalformedBodiesAreClearErrors() {
        let unclosed = Data("--B\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nabc".utf8)
        XCTAssertThrowsError(try MultipartParser.parts(of: unclosed, boundary: "B")) {
            XCTAssertTrue(($0 as? APIError)?.message.contains("not closed") ?? false, "\($0)")
        }
        XCTAssertThrowsError(try MultipartParser.parts(of: Data("no boundary here".utf8), boundary: "B")) {
            XCTAssertTrue(($0 as? APIError)?.message.contains("does not contain its boundary") ?? false, "\($0)")
        }
        let noFile = Data("--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--B--".utf8)
        XCTAssertThrowsError(try UploadReader.read(body: noFile, contentType: "multipart/form-data; boundary=B")) {
            XCTAssertEqual(($0 as? APIError)?.status, .badRequest)
        }
    }
}
