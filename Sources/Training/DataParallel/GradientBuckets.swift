import Distributed
import Foundation
import NeuralNet

/// Averages every gradient over the ranks, fused into buckets (Horovod's tensor fusion, DDP's
/// buckets): one allreduce per few megabytes instead of one per tensor, whose latency would
/// dominate for BatchNorm's small vectors. Buckets are filled from the last parameter to the
/// first, the order backward produces them.
final class GradientBuckets {
    let communicator: any Communicator
    /// Floats per bucket (16 MiB).
    let capacity: Int
    private var buffer: [Float]
    /// Bytes summed and seconds spent inside the allreduce calls since the last `takeStatistics`
    /// (what the distributed benchmark reports per step).
    private var statistics = (bytes: 0, seconds: 0.0, steps: 0)

    init(communicator: any Communicator, capacity: Int = 4 << 20) {
        self.communicator = communicator
        self.capacity = capacity
        buffer = []
    }

    /// Replaces each gradient by its mean over the ranks; every rank passes the same parameters
    /// with gradients (frozen weights have none).
    func average(_ parameters: [Parameter]) throws {
        let gradients = parameters.reversed().compactMap { parameter in parameter.trainable ? parameter.gradStorage.map { ($0, parameter.count) } : nil }
        let scale = 1 / Float(communicator.size)
        var bucket: [(UnsafeMutablePointer<Float>, Int)] = []
        var filled = 0
        func flush() throws {
            guard !bucket.isEmpty else { return }
            if buffer.count < filled { buffer = [Float](repeating: 0, count: max(filled, min(capacity, 1 << 16))) }
            try buffer.withUnsafeMutableBufferPointer { all in
                var offset = 0
                for (gradient, count) in bucket {
                    (all.baseAddress! + offset).update(from: gradient, count: count)
                    offset += count
                }
                let start = DispatchTime.now().uptimeNanoseconds
                try communicator.allreduceSum(UnsafeMutableBufferPointer(rebasing: all[..<offset]))
                statistics.seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                statistics.bytes += offset * MemoryLayout<Float>.stride
                offset = 0
                for (gradient, count) in bucket {
                    for i in 0..<count { gradient[i] = all[offset + i] * scale }
                    offset += count
                }
            }
            bucket.removeAll(keepingCapacity: true)
            filled = 0
        }
        for (gradient, count) in gradients {
            if filled + count > capacity { try flush() }
            bucket.append((gradient, count))
            filled += count
        }
        try flush()
        statistics.steps += 1
    }

    /// The mean bytes reduced and seconds waited per step since the last call, then zero.
    func takeStatistics() -> (bytesPerStep: Double, secondsPerStep: Double) {
        defer { statistics = (0, 0, 0) }
        let steps = Double(max(statistics.steps, 1))
        return (Double(statistics.bytes) / steps, statistics.seconds / steps)
    }
}
