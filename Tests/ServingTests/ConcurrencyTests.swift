import Foundation
import XCTest
@testable import Serving

/// Dynamic batching, back-pressure, queue timeouts and graceful shutdown, over real HTTP.
final class ConcurrencyTests: XCTestCase {
    /// Concurrent clients share forward passes: fewer batches than requests.
    func testConcurrentRequestsShareBatches() async throws {
        let image = try ServerHarness.hamImage()
        let harness = try await ServerHarness { $0.maxBatch = 16; $0.maxDelay = .milliseconds(100) }
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<12 { group.addTask { try await harness.post("/v1/predict", body: image.data, contentType: "image/jpeg").status } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let metrics = try await harness.get("/metrics").text
        try await harness.stop()
        XCTAssertEqual(statuses, [Int](repeating: 200, count: 12))
        let batches = try XCTUnwrap(Self.value(of: "skinlesion_batch_images_count", in: metrics))
        let images = try XCTUnwrap(Self.value(of: "skinlesion_images_total", in: metrics))
        XCTAssertEqual(images, 13, "12 requests and the warm-up image")
        XCTAssertLessThan(batches, 13, "requests arriving together must share forward passes:\n\(metrics)")
        print("batching: 13 images in \(Int(batches)) forward passes")
    }

    /// A full queue answers 429 at once with Retry-After, and the requests it accepted succeed.
    func testFullQueueAnswers429WithRetryAfter() async throws {
        let image = try ServerHarness.hamImage()
        let harness = try await ServerHarness { $0.maxBatch = 8; $0.queueCapacity = 8; $0.maxDelay = .milliseconds(1) }
        let replies = try await withThrowingTaskGroup(of: ServerHarness.Reply.self) { group in
            for _ in 0..<10 {
                group.addTask { try await harness.post("/v1/predict?tta=8&cam=true", body: image.data, contentType: "image/jpeg") }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        try await harness.stop()
        let rejected = replies.filter { $0.status == 429 }
        XCTAssertFalse(rejected.isEmpty, "10 requests of 8 views each into a queue of 8: \(replies.map(\.status))")
        XCTAssertTrue(replies.allSatisfy { [200, 429].contains($0.status) }, "\(replies.map(\.status))")
        for reply in rejected {
            XCTAssertGreaterThanOrEqual(Int(reply.headers["retry-after"] ?? "") ?? 0, 1)
            XCTAssertTrue(reply.errorMessage.contains("queue is full"), reply.errorMessage)
        }
        print("back-pressure: \(replies.filter { $0.status == 200 }.count) accepted, \(rejected.count) answered 429")
    }

    /// A request still queued at its deadline is answered 503 without running.
    func testRequestThatWaitsTooLongTimesOut() async throws {
        let image = try ServerHarness.hamImage()
        let harness = try await ServerHarness {
            $0.maxBatch = 64
            $0.maxDelay = .milliseconds(400)
            $0.requestTimeout = .milliseconds(50)
        }
        let reply = try await harness.post("/v1/predict", body: image.data, contentType: "image/jpeg")
        try await harness.stop()
        XCTAssertEqual(reply.status, 503, reply.text)
        XCTAssertTrue(reply.errorMessage.contains("waited longer than"), reply.errorMessage)
        XCTAssertNotNil(reply.headers["retry-after"])
    }

    /// Shutdown waits for the request in flight: it is queued when shutdown starts, and is
    /// still answered 200; afterwards the port no longer accepts requests.
    func testGracefulShutdownDrainsTheRequestInFlight() async throws {
        let image = try ServerHarness.hamImage()
        let harness = try await ServerHarness { $0.maxBatch = 64; $0.maxDelay = .milliseconds(700) }
        let inFlight = Task { try await harness.post("/v1/predict?tta=8", body: image.data, contentType: "image/jpeg") }
        var queued = false
        for _ in 0..<100 where !queued {
            queued = Self.value(of: "skinlesion_queue_images", in: try await harness.get("/metrics").text) ?? 0 > 0
            if !queued { try await Task.sleep(for: .milliseconds(10)) }
        }
        XCTAssertTrue(queued, "the request reached the queue")
        try await harness.stop()
        let reply = try await inFlight.value
        XCTAssertEqual(reply.status, 200, reply.text)
        do {
            let late = try await harness.get("/healthz")
            XCTFail("the server still answered after shutdown: \(late.status)")
        } catch {}
    }

    /// The value of an unlabelled metric line `name value`.
    static func value(of name: String, in metrics: String) -> Double? {
        metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
    }
}
