import Foundation
import Prometheus

/// Counters and histograms for `GET /metrics`, kept by swift-prometheus's registry (its own
/// locking) and emitted in the Prometheus text exposition format (version 0.0.4).
final class ServerMetrics: Sendable {
    /// Upper bounds of the latency histogram, in seconds.
    static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Upper bounds of the batch-size histogram, in images.
    static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128]

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "skinlesion", metricName: metric, unitName: unit, helpText: help)
    }

    private static var requestsName: MetricNameDescriptor { name("requests", "total", "HTTP requests by route and status code.") }
    private static var latencyName: MetricNameDescriptor { name("request_duration", "seconds", "Request latency by route.") }

    private let registry = PrometheusCollectorRegistry()
    private let batches: ValueHistogram
    private let images: Counter
    private let queueDepth: Gauge
    private let uptime: Gauge
    private let started = Date()

    init() {
        batches = registry.makeValueHistogram(descriptor: Self.name("batch", "images", "Images per forward pass of the batching queue."),
                                              buckets: Self.batchBuckets)
        images = registry.makeCounter(descriptor: Self.name("images", "total", "Images (TTA views included) run through the model."))
        queueDepth = registry.makeGauge(descriptor: Self.name("queue", "images", "Images waiting in the batching queue."))
        uptime = registry.makeGauge(descriptor: Self.name("uptime", "seconds", "Seconds since the server started."))
    }

    func recordRequest(route: String, status: Int, seconds: Double) {
        registry.makeCounter(descriptor: Self.requestsName, labels: [("route", route), ("status", String(status))]).increment()
        registry.makeValueHistogram(descriptor: Self.latencyName, labels: [("route", route)], buckets: Self.latencyBuckets)
            .record(seconds)
    }

    func recordBatch(images count: Int) {
        images.increment(by: Int64(count))
        batches.record(Double(count))
    }

    func setQueueDepth(_ depth: Int) { queueDepth.set(Double(depth)) }

    /// The exposition text.
    func render() -> String {
        uptime.set(Date().timeIntervalSince(started))
        return registry.emitToString()
    }
}
