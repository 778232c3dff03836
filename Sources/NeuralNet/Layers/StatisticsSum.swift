/// Sums BatchNorm's per-channel statistics over the processes of a data-parallel job, so the
/// statistics are those of the whole global batch (synchronised BatchNorm). The trainer gives
/// one to every BatchNorm from its communicator; without one (the default) each process
/// normalises over its own share, as a single process always does.
public protocol StatisticsSum: AnyObject {
    /// Elementwise sum over the processes, in place; every process calls it with the same count.
    func sum(_ values: UnsafeMutableBufferPointer<Double>) throws
}
