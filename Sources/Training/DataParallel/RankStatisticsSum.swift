import Distributed
import NeuralNet

/// BatchNorm's statistics summed over the ranks (`--sync-bn`).
final class RankStatisticsSum: StatisticsSum {
    let communicator: any Communicator

    init(_ communicator: any Communicator) { self.communicator = communicator }

    func sum(_ values: UnsafeMutableBufferPointer<Double>) throws { try communicator.allreduceSum(values) }
}
