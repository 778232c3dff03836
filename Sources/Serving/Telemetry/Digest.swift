import Crypto
import Foundation

extension SHA256 {
    /// swift-crypto's SHA-256 of `data` as 64 lower-case hex digits: the content-addressed model
    /// id and the audit log's input digests.
    static func hex(_ data: Data) -> String {
        hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
