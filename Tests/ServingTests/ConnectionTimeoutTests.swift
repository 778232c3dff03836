import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Serving

/// Slow clients (slow-loris) cannot hold the server's connections: a connection trickling its
/// headers is closed at the header timeout, a silent one at the idle timeout, and real clients
/// are answered meanwhile.
final class ConnectionTimeoutTests: XCTestCase {
    func testSlowAndSilentConnectionsAreClosedWhileRealRequestsAreAnswered() async throws {
        let image = try ServerHarness.hamImage()
        let harness = try await ServerHarness { $0.headerTimeout = .seconds(2); $0.idleTimeout = .seconds(5) }
        let port = try XCTUnwrap(harness.base.port)
        // One byte a second: this head would take 87 s to arrive.
        let head = Array("POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\nContent-Length: 10\r\n\r\n".utf8)
        let trickler = try RawConnection(port: port), silent = try RawConnection(port: port)
        async let trickled = trickler.secondsUntilClosed(sending: head, every: 1, giveUpAfter: 30)
        async let quiet = silent.secondsUntilClosed(sending: [], every: 0.2, giveUpAfter: 30)
        let start = ContinuousClock.now
        let reply = try await harness.post("/v1/predict", body: image.data, contentType: "image/jpeg")
        let answered = (ContinuousClock.now - start).seconds
        let (trickleClosed, silentClosed) = await (trickled, quiet)
        try await harness.stop()

        XCTAssertEqual(reply.status, 200, reply.text)
        let slow = try XCTUnwrap(trickleClosed.closedAfter, "the trickling connection was never closed (\(trickleClosed))")
        XCTAssertFalse(trickleClosed.answered, "a head that never completed got an answer")
        XCTAssertGreaterThanOrEqual(slow, 1.9, "closed before the 2 s header timeout")
        XCTAssertLessThan(slow, 5, "closed by the 2 s header timeout, before the 5 s idle timeout")
        XCTAssertLessThan(answered, slow, "the real request was answered while the slow connection was still open")
        let idle = try XCTUnwrap(silentClosed.closedAfter, "the silent connection was never closed")
        XCTAssertGreaterThanOrEqual(idle, 4.9, "closed before the 5 s idle timeout")
        XCTAssertLessThan(idle, 30)
        print("slow-loris closed after \(String(format: "%.1f", slow)) s, silent after \(String(format: "%.1f", idle)) s; " +
              "real request answered in \(String(format: "%.2f", answered)) s")
    }

    func testTimeoutsMustBePositive() {
        var options = ServeOptions()
        options.headerTimeout = .zero
        XCTAssertThrowsError(try options.validate()) { XCTAssertTrue("\($0)".contains("--header-timeout"), "\($0)") }
        options = ServeOptions()
        options.idleTimeout = .seconds(-1)
        XCTAssertThrowsError(try options.validate()) { XCTAssertTrue("\($0)".contains("--idle-timeout"), "\($0)") }
    }
}

/// A raw loopback TCP connection, for clients URLSession cannot imitate. Its blocking socket
/// calls run on a Dispatch thread, never on the cooperative pool the server answers on.
private final class RawConnection: @unchecked Sendable {
    struct Outcome: CustomStringConvertible {
        /// Seconds from the first byte sent until the server closed the connection; nil if it never did.
        var closedAfter: Double?
        /// Whether the server sent any bytes back.
        var answered = false
        var description: String { "closedAfter: \(closedAfter.map { "\($0) s" } ?? "never"), answered: \(answered)" }
    }

    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw XCTSkip("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw XCTSkip("connect to 127.0.0.1:\(port) failed: errno \(errno)") }
    }

    deinit { close(fd) }

    /// Sends `bytes` one every `interval` seconds (then keeps waiting) until the server closes
    /// the connection or `limit` seconds pass.
    func secondsUntilClosed(sending bytes: [UInt8], every interval: Double, giveUpAfter limit: Double) async -> Outcome {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: self.watch(bytes, interval, limit)) }
        }
    }

    private func watch(_ bytes: [UInt8], _ interval: Double, _ limit: Double) -> Outcome {
        let start = Date()
        var outcome = Outcome(), sent = 0
        while Date().timeIntervalSince(start) < limit {
            if sent < bytes.count {
                var byte = bytes[sent]
                if send(fd, &byte, 1, Int32(MSG_NOSIGNAL)) != 1 { break }
                sent += 1
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(interval * 1000)) > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 { outcome.answered = true; continue }
            break
        }
        let elapsed = Date().timeIntervalSince(start)
        if elapsed < limit { outcome.closedAfter = elapsed }
        return outcome
    }
}
