import Distributed
import Foundation
import NeuralNet

/// Averages every gradient over the ranks, fused into buckets (Horovod's tensor fusion, DDP's
/// buckets): one allreduce per few megabytes instead of one per tensor, whose latency would
/// dominate for BatchNorm's small vectors. Buckets fill in the order backward produces the
/// gradients (`add`, called as each top-level module's backward ends), and each full bucket's
/// `MPI_Iallreduce` starts at once, so the reduction overlaps the rest of backward; `finish`
/// adds what no module handed in, waits and writes the means back.
final class GradientBuckets {
    let communicator: any Communicator
    /// Floats per bucket (4 MiB, DDP's first bucket size: small enough that the first buckets
    /// start while most of backward is still to run, large enough to amortise latency).
    let capacity: Int

    /// A bucket's own memory (kept across steps), the gradients copied into it, and its
    /// reduction once started.
    private final class Bucket {
        let storage: UnsafeMutableBufferPointer<Float>
        var entries: [(gradient: UnsafeMutablePointer<Float>, count: Int)] = []
        var filled = 0
        var pending: (any PendingReduction)?

        init(capacity: Int) {
            storage = .allocate(capacity: capacity)
        }

        deinit { storage.deallocate() }
    }

    private var buckets: [Bucket] = []
    /// Buckets holding gradients of this step; the last one is being filled.
    private var used = 0
    /// Parameters already in a bucket this step.
    private var added = Set<ObjectIdentifier>()
    /// Bytes summed, and seconds spent waiting for sums after backward, since the last
    /// `takeStatistics` (what the distributed benchmark reports per step).
    private var statistics = (bytes: 0, seconds: 0.0, steps: 0)

    init(communicator: any Communicator, capacity: Int = 1 << 20) {
        self.communicator = communicator
        self.capacity = capacity
    }

    /// Puts `layer`'s gradients into the current bucket, starting its allreduce when it is full,
    /// and lets MPI move the started ones on.
    func add(_ layer: any Layer) throws {
        try add(layer.parameters)
        for bucket in buckets[..<used] { _ = try bucket.pending?.test() }
    }

    /// Replaces each gradient of `parameters` (every rank passes the same ones; frozen weights
    /// have none) by its mean over the ranks.
    func finish(_ parameters: [Parameter]) throws {
        try add(parameters)
        try start(current)
        let waiting = DispatchTime.now().uptimeNanoseconds
        for bucket in buckets[..<used] { try bucket.pending?.wait() }
        statistics.seconds += Double(DispatchTime.now().uptimeNanoseconds - waiting) / 1e9
        let scale = 1 / Float(communicator.size)
        for bucket in buckets[..<used] {
            var offset = 0
            for (gradient, count) in bucket.entries {
                for i in 0..<count { gradient[i] = bucket.storage[offset + i] * scale }
                offset += count
            }
            statistics.bytes += bucket.filled * MemoryLayout<Float>.stride
            bucket.entries.removeAll(keepingCapacity: true)
            bucket.filled = 0
            bucket.pending = nil
        }
        used = 0
        added.removeAll(keepingCapacity: true)
        statistics.steps += 1
    }

    /// The mean bytes reduced and seconds waited per step since the last call, then zero.
    func takeStatistics() -> (bytesPerStep: Double, secondsPerStep: Double) {
        defer { statistics = (0, 0, 0) }
        let steps = Double(max(statistics.steps, 1))
        return (Double(statistics.bytes) / steps, statistics.seconds / steps)
    }

    /// The bucket being filled (a new or reused one when none is).
    private var current: Bucket {
        if used == 0 || buckets[used - 1].pending != nil {
            if used == buckets.count { buckets.append(Bucket(capacity: capacity)) }
            used += 1
        }
        return buckets[used - 1]
    }

    /// Last parameter first, the order backward produces them; one larger than a bucket gets a
    /// bucket of its own size.
    private func add(_ parameters: [Parameter]) throws {
        for parameter in parameters.reversed() where parameter.trainable {
            guard let gradient = parameter.gradStorage, added.insert(ObjectIdentifier(parameter)).inserted else { continue }
            var bucket = current
            if bucket.filled > 0 && bucket.filled + parameter.count > capacity {
                try start(bucket)
                bucket = current
            }
            if parameter.count > bucket.storage.count {
                buckets[used - 1] = Bucket(capacity: parameter.count)
                bucket = buckets[used - 1]
            }
            (bucket.storage.baseAddress! + bucket.filled).update(from: gradient, count: parameter.count)
            bucket.entries.append((gradient, parameter.count))
            bucket.filled += parameter.count
        }
    }

    private func start(_ bucket: Bucket) throws {
        guard bucket.pending == nil, bucket.filled > 0 else { return }
        bucket.pending = try communicator.startAllreduceSum(UnsafeMutableBufferPointer(rebasing: bucket.storage[..<bucket.filled]))
    }
}
