import Foundation

/// Counters and histograms for `GET /metrics`, in the Prometheus text exposition format
/// (version 0.0.4). One lock; every update is a few additions.
final class ServerMetrics: @unchecked Sendable {
    /// Upper bounds of the latency histogram, in seconds.
    static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Upper bounds of the batch-size histogram, in images.
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128]

    private struct Histogram {
        var counts: [Int]
        var sum = 0.0
        var count = 0

        init(buckets: Int) { counts = [Int](repeating: 0, count: buckets) }

        mutating func observe(_ value: Double, bounds: [Double]) {
            for (i, bound) in bounds.enumerated() where value <= bound { counts[i] += 1 }
            sum += value
            count += 1
        }
    }

    private let lock = NSLock()
    private var requests: [String: Int] = [:]          // "route|status"
    private var latency: [String: Histogram] = [:]     // route
    private var batches = Histogram(buckets: batchBuckets.count)
    private var images = 0
    private var queueDepth = 0
    private let started = Date()

    func recordRequest(route: String, status: Int, seconds: Double) {
        lock.withLock {
            requests["\(route)|\(status)", default: 0] += 1
            latency[route, default: Histogram(buckets: Self.latencyBuckets.count)].observe(seconds, bounds: Self.latencyBuckets)
        }
    }

    func recordBatch(images count: Int) {
        lock.withLock {
            images += count
            batches.observe(Double(count), bounds: Self.batchBuckets)
        }
    }

    func setQueueDepth(_ depth: Int) {
        lock.withLock { queueDepth = depth }
    }

    /// The exposition text, families in a fixed order and series sorted.
    func render() -> String {
        lock.withLock {
            var out = ""
            out += "# HELP skinlesion_requests_total HTTP requests by route and status code.\n"
            out += "# TYPE skinlesion_requests_total counter\n"
            for key in requests.keys.sorted() {
                let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
                out += "skinlesion_requests_total{route=\"\(parts[0])\",status=\"\(parts[1])\"} \(requests[key]!)\n"
            }
            out += "# HELP skinlesion_request_duration_seconds Request latency by route.\n"
            out += "# TYPE skinlesion_request_duration_seconds histogram\n"
            for route in latency.keys.sorted() {
                out += histogramLines("skinlesion_request_duration_seconds", latency[route]!, bounds: Self.latencyBuckets,
                                      labels: "route=\"\(route)\",")
            }
            out += "# HELP skinlesion_batch_images Images per forward pass of the batching queue.\n"
            out += "# TYPE skinlesion_batch_images histogram\n"
            out += histogramLines("skinlesion_batch_images", batches, bounds: Self.batchBuckets, labels: "")
            out += "# HELP skinlesion_images_total Images (TTA views included) run through the model.\n"
            out += "# TYPE skinlesion_images_total counter\nskinlesion_images_total \(images)\n"
            out += "# HELP skinlesion_queue_images Images waiting in the batching queue.\n"
            out += "# TYPE skinlesion_queue_images gauge\nskinlesion_queue_images \(queueDepth)\n"
            out += "# HELP skinlesion_uptime_seconds Seconds since the server started.\n"
            out += "# TYPE skinlesion_uptime_seconds gauge\n"
            out += "skinlesion_uptime_seconds \(String(format: "%.3f", Date().timeIntervalSince(started)))\n"
            return out
        }
    }

    private func histogramLines(_ name: String, _ histogram: Histogram, bounds: [Double], labels: String) -> String {
        var out = ""
        for (bound, count) in zip(bounds, histogram.counts) {
            out += "\(name)_bucket{\(labels)le=\"\(bound)\"} \(count)\n"
        }
        out += "\(name)_bucket{\(labels)le=\"+Inf\"} \(histogram.count)\n"
        let plain = labels.isEmpty ? "" : "{\(labels.dropLast())}"
        out += "\(name)_sum\(plain) \(histogram.sum)\n\(name)_count\(plain) \(histogram.count)\n"
        return out
    }
}
