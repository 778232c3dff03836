import Distributed
import Foundation
import NeuralNet

/// How one rank takes part in data-parallel training: its share of every global batch, the
/// weights it starts from, and the sums that keep every rank's model identical after each step.
/// With one rank (`SingleProcess`) every operation leaves the numbers exactly as they were.
struct DataParallel {
    let communicator: any Communicator
    /// The global batch (`--batch-size`), which the result depends on, whatever the rank count.
    let globalBatch: Int
    private let buckets: GradientBuckets

    init(communicator: any Communicator, globalBatch: Int) throws {
        guard globalBatch % communicator.size == 0 else {
            throw TrainingError.invalidConfig("the batch size \(globalBatch) is the global batch and must divide evenly among "
                                              + "the \(communicator.size) ranks; choose a multiple of \(communicator.size)")
        }
        self.communicator = communicator
        self.globalBatch = globalBatch
        buckets = GradientBuckets(communicator: communicator)
    }

    var ranks: Int { communicator.size }
    /// Images this rank computes per step.
    var share: Int { globalBatch / communicator.size }
    /// Rows of the global batch before this rank's share (dropout keys its masks by them).
    var rowsBefore: Int { communicator.rank * share }

    /// This rank's part of every full global batch of `order`, concatenated: cut into `share`s
    /// it gives exactly this rank's part of each step, so all ranks draw from the one seeded
    /// epoch order and together see each global batch once.
    func share(of order: [Int]) -> [Int] {
        stride(from: 0, through: order.count - globalBatch, by: globalBatch).flatMap { start in
            order[(start + rowsBefore)..<(start + rowsBefore + share)]
        }
    }

    /// Rank 0's values of `parameters` on every rank: the initial weights, and after each step
    /// the running statistics that per-rank BatchNorm left different on each rank (DDP's
    /// broadcast of buffers), so checkpoints and validation see one model.
    func broadcast(_ parameters: [Parameter]) throws {
        guard ranks > 1 else { return }
        var values = parameters.flatMap(\.values)
        try values.withUnsafeMutableBufferPointer { try communicator.broadcast($0, from: 0) }
        var offset = 0
        for parameter in parameters {
            let received = Array(values[offset..<(offset + parameter.count)])
            // Only changed values are written: a write bumps the version, which makes a frozen
            // ConvBN fold its weights again.
            if received != parameter.values { try parameter.assign(received) }
            offset += parameter.count
        }
    }

    /// The mean loss of the global batch and the factor for this rank's loss gradient, from this
    /// rank's mean `loss` over a share whose class weights sum to `weight` (its image count when
    /// unweighted). The loss is a weighted mean over the whole batch, so rank r's gradient is
    /// scaled by N·Wᵣ/W before the gradients are averaged; unweighted, the factor is 1.
    func combine(loss: Float, weight: Double) throws -> (loss: Float, gradientScale: Float) {
        guard ranks > 1 else { return (loss, 1) }
        var sums = [weight, weight * Double(loss)]
        try sums.withUnsafeMutableBufferPointer { try communicator.allreduceSum($0) }
        return (Float(sums[1] / sums[0]), Float(Double(ranks) * weight / sums[0]))
    }

    /// Starts reducing `layer`'s gradients as soon as its backward pass is done (the network's
    /// `Sequential.didBackward`), so the reduction overlaps the rest of backward.
    func didBackward(_ layer: any Layer) throws {
        guard ranks > 1 else { return }
        try buckets.add(layer)
    }

    /// Every trainable gradient replaced by its mean over the ranks, once backward is done.
    func averageGradients(_ parameters: [Parameter]) throws {
        guard ranks > 1 else { return }
        try buckets.finish(parameters)
    }

    /// "allreduce: … per step" since the last call, for the log after each epoch; nil alone.
    func takeReductionSummary() -> String? {
        guard ranks > 1 else { return nil }
        let (bytes, seconds) = buckets.takeStatistics()
        return String(format: "allreduce: %.2f MB of gradients per step, %.1f ms per step waiting for it after backward (rank %d)",
                      bytes / 1e6, seconds * 1e3, communicator.rank)
    }
}
