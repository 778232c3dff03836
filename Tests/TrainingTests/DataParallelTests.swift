import Distributed
import Foundation
import NeuralNet
import TestSupport
import XCTest
@testable import Training

/// `skinlesion train`, `predict` and `evaluate` under `mpirun -np 2` on loopback against one
/// process: the same weights after an epoch (summation order is all that differs), byte-identical
/// sharded predictions and reports, and a killed rank that ends the job and resumes cleanly.
/// EfficientNet-Lite0 from its ImageNet weights at 64×64 on synthetic images keeps each run a few
/// seconds.
///
/// Why pretrained weights and the last block: full fine-tuning from random initialisation at
/// 32×32 is chaotic — one process on 1 and on 2 oneDNN threads (summation order alone) already
/// ends an epoch 1e-2 apart in the head — while from the ImageNet weights, fine-tuning from
/// `_blocks.15` (BatchNorm training in the block, the head convolution and the head) keeps the
/// thread-count difference at 2e-6 and the rank-count one at 7e-6 (measured).
final class DataParallelTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let weights = SharedFiles.lite0Weights

    /// 100 images: 70 train (two global batches of 32), 15 val, 15 test.
    private func data(in directory: URL) throws -> URL {
        let data = directory.appendingPathComponent("data")
        try SyntheticLesions.write(to: data, classes: ["mel", "nv"], perClass: 50, side: 32)
        return data
    }

    /// Fine-tuning with augmentation and head dropout; SGD, whose step is linear in the gradient
    /// (Adam's first step, g/|g|, would turn rounding noise in a near-zero gradient into a full
    /// step and hide what is compared).
    private func arguments(_ data: URL, output: URL, _ extra: [String]) throws -> [String] {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Self.weights.path),
                          "EfficientNet-Lite0 ImageNet weights not found at \(Self.weights.path); multi-rank training tests skipped")
        return ["train", "--dataset", data.path, "--arch", "efficientnet-lite0", "--weights", Self.weights.path,
                "--image-size", "64", "--epochs", "1", "--batch-size", "32", "--optimizer", "sgd", "--lr", "0.01",
                "--seed", "7", "--freeze", "_blocks.15", "--output", output.path] + extra
    }

    private func mpirun(_ ranks: Int) throws -> [String] {
        let path = "/usr/bin/mpirun"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: path),
                          "mpirun is not installed (scripts/setup installs openmpi-bin); multi-rank tests skipped")
        return [path, "-np", String(ranks), "--oversubscribe"]
    }

    /// Open MPI refuses root unless told; the sandboxes and CI run as root.
    private let mpiEnvironment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]

    /// `launcher` starts `ranks` processes (mpirun unless given); no ranks is one plain process.
    private func run(_ arguments: [String], ranks: Int?, logs: URL,
                     launcher: ((Int) throws -> [String])? = nil) throws -> CommandLineTool.Result {
        let wrapper = try ranks.map(launcher ?? mpirun) ?? []
        let result = try CommandLineTool.run(arguments, logs: logs, environment: mpiEnvironment, wrapper: wrapper)
        return result
    }

    /// Every weight and BatchNorm statistic in the last checkpoints of `a` and `b` within
    /// `tolerance` of each other, relative to the tensor's largest value. The optimizer's slots
    /// are not compared: those of a bias followed by BatchNorm hold a gradient that is zero in
    /// exact arithmetic, so only rounding noise (and 1 against 2 threads differs there as much).
    private func assertSameState(_ a: RunDirectory, _ b: RunDirectory, tolerance: Float = 1e-4,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let left = try SafeTensorsFile(contentsOf: XCTUnwrap(a.existingCheckpoints().last, file: file, line: line))
        let right = try SafeTensorsFile(contentsOf: XCTUnwrap(b.existingCheckpoints().last, file: file, line: line))
        XCTAssertEqual(left.names, right.names, file: file, line: line)
        var worst = (name: "", error: Float(0))
        for name in left.names where left.entries[name]?.dtype != .i64 && !name.hasPrefix("optimizer/") {
            let x = try left.floats(name), y = try right.floats(name)
            let scale = max(x.map(abs).max() ?? 0, 1e-6)
            let error = zip(x, y).map { abs($0 - $1) }.max() ?? 0
            if error / scale > worst.error { worst = (name, error / scale) }
        }
        XCTAssertLessThanOrEqual(worst.error, tolerance, "largest relative difference in \(worst.name)", file: file, line: line)
        XCTAssertGreaterThan(left.names.count, 100, file: file, line: line)
    }

    private func ranksRecorded(_ run: RunDirectory) -> [Int?] { EpochRecord.read(from: run).map(\.ranks) }

    func testTwoRanksWithSyncBatchNormTrainTheWeightsOfOneProcess() throws {
        _ = try trainWithSyncBatchNormOnOneAndTwoRanks("skinlesion-mpi-syncbn")
    }

    /// One process, then two ranks that `launcher` starts (mpirun unless given), at global batch
    /// 32 with `--sync-bn`: the same weights, rank 0 alone prints, and both record their ranks.
    /// Returns the test's directory, its data and the single process's run.
    private func trainWithSyncBatchNormOnOneAndTwoRanks(_ name: String, launcher: ((Int) throws -> [String])? = nil) throws
        -> (directory: URL, data: URL, one: RunDirectory) {
        let directory = try temporaryDirectory(name)
        let data = try data(in: directory)
        let one = RunDirectory(directory.appendingPathComponent("one"))
        let two = RunDirectory(directory.appendingPathComponent("two"))
        let single = try run(arguments(data, output: one.url, ["--sync-bn"]), ranks: nil,
                             logs: directory.appendingPathComponent("one"))
        XCTAssertEqual(single.status, 0, single.stderr)
        let parallel = try run(arguments(data, output: two.url, ["--sync-bn"]), ranks: 2,
                               logs: directory.appendingPathComponent("two"), launcher: launcher)
        XCTAssertEqual(parallel.status, 0, parallel.stderr)
        XCTAssertTrue(parallel.stderr.contains("data parallel: 2 ranks × 16 images"), parallel.stderr)
        XCTAssertEqual(parallel.stdout.components(separatedBy: "best validation").count, 2, "rank 0 alone prints: \(parallel.stdout)")
        try assertSameState(one, two)
        XCTAssertEqual(ranksRecorded(one), [1])
        XCTAssertEqual(ranksRecorded(two), [2])
        return (directory, data, one)
    }

    func testTwoRanksFineTuningWithFrozenBatchNormTrainTheWeightsOfOneProcess() throws {
        let directory = try temporaryDirectory("skinlesion-mpi-frozenbn")
        let data = try data(in: directory)
        let one = RunDirectory(directory.appendingPathComponent("one"))
        let two = RunDirectory(directory.appendingPathComponent("two"))
        let extra = ["--frozen-bn"]
        let single = try run(arguments(data, output: one.url, extra), ranks: nil, logs: directory.appendingPathComponent("one"))
        XCTAssertEqual(single.status, 0, single.stderr)
        let parallel = try run(arguments(data, output: two.url, extra), ranks: 2, logs: directory.appendingPathComponent("two"))
        XCTAssertEqual(parallel.status, 0, parallel.stderr)
        try assertSameState(one, two)

        // Sharded inference on the trained model: stdout and report files byte for byte.
        let model = one.bestModel.path
        for format in [[], ["--json"]] {
            let predict = ["predict", "--model", model, "--image", data.appendingPathComponent("images").path] + format
            let alone = try run(predict, ranks: nil, logs: directory.appendingPathComponent("predict-one"))
            let shared = try run(predict, ranks: 2, logs: directory.appendingPathComponent("predict-two"))
            XCTAssertEqual(alone.status, 0, alone.stderr)
            XCTAssertEqual(shared.status, 0, shared.stderr)
            XCTAssertEqual(alone.stdout.split(separator: "\n").count, format.isEmpty ? 101 : 100)
            XCTAssertEqual(shared.stdout, alone.stdout)
        }
        var reports: [[String: Data]] = []
        for ranks in [nil, 2] as [Int?] {
            let output = directory.appendingPathComponent("evaluate-\(ranks ?? 1)")
            let result = try run(["evaluate", "--model", model, "--dataset", data.path, "--output", output.path], ranks: ranks,
                                 logs: output)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("balanced accuracy"), result.stdout)
            reports.append(try Dictionary(uniqueKeysWithValues: ["report.json", "predictions.csv", "report.html"].map {
                ($0, try Data(contentsOf: output.appendingPathComponent($0)))
            }))
            reports[reports.count - 1]["stdout"] = Data(result.stdout.utf8)
        }
        for (name, bytes) in reports[0] { XCTAssertEqual(bytes, reports[1][name], "\(name) differs between 1 and 2 ranks") }
    }

    /// `srun -n 2` under a running Slurm (`scripts/slurm-local up` makes one on this machine):
    /// the weights of one process, as under mpirun, and one process's predictions.
    func testSrunUnderSlurmTrainsAndPredictsAsOneProcess() throws {
        let srun = try slurm()
        let (directory, data, one) = try trainWithSyncBatchNormOnOneAndTwoRanks("skinlesion-srun", launcher: srun)

        let predict = ["predict", "--model", one.bestModel.path, "--image", data.appendingPathComponent("images").path]
        let alone = try run(predict, ranks: nil, logs: directory.appendingPathComponent("predict-one"))
        let shared = try run(predict, ranks: 2, logs: directory.appendingPathComponent("predict-two"), launcher: srun)
        XCTAssertEqual(shared.status, 0, shared.stderr)
        XCTAssertEqual(alone.stdout.split(separator: "\n").count, 101)
        XCTAssertEqual(shared.stdout, alone.stdout)

        // Without PMIx the tasks cannot form one job: each refuses rather than run alone.
        let unconnected = try run(predict, ranks: 2, logs: directory.appendingPathComponent("predict-none"),
                                  launcher: { try srun($0) + ["--mpi=none"] })
        XCTAssertNotEqual(unconnected.status, 0)
        XCTAssertTrue(unconnected.stderr.contains("srun started 2 tasks without PMIx"), unconnected.stderr)
        XCTAssertEqual(unconnected.stdout, "")
    }

    /// `srun -n N` on a Slurm that answers: `SLURM_CONF`'s, or else scripts/slurm-local's one-node
    /// cluster, which this starts (as root, when Slurm is installed) and stops after the test.
    /// Without Slurm, a skip that says how to get one.
    private func slurm() throws -> (Int) throws -> [String] {
        let srun = "/usr/bin/srun", scontrol = "/usr/bin/scontrol"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: srun) && FileManager.default.isExecutableFile(atPath: scontrol),
                          "Slurm is not installed (scripts/setup or scripts/slurm-local install); srun tests skipped")
        let environment = ProcessInfo.processInfo.environment
        let script = Self.repository.appendingPathComponent("scripts/slurm-local").path
        let conf = environment["SLURM_CONF"] ?? (environment["SLURM_LOCAL_DIR"] ?? "/tmp/skinlesion-slurm") + "/slurm.conf"
        let slurmEnvironment = environment.merging(["SLURM_CONF": conf]) { $1 }
        // scontrol waits a minute for a configuration file that is not there.
        let answers = try FileManager.default.fileExists(atPath: conf)
            && SystemTool.run("/usr/bin/timeout", ["10", scontrol, "ping"], environment: slurmEnvironment).status == 0
        if !answers {
            try XCTSkipUnless(environment["SLURM_CONF"] == nil && getuid() == 0,
                              "no Slurm controller answers for \(conf) (scripts/slurm-local up starts one, as root); srun tests skipped")
            let up = try SystemTool.run(script, ["up"], environment: environment)
            try XCTSkipUnless(up.status == 0, "scripts/slurm-local up failed, srun tests skipped: \(up.output)")
            addTeardownBlock { _ = try? SystemTool.run(script, ["down"], environment: environment) }
        }
        return { ranks in ["/usr/bin/env", "SLURM_CONF=\(conf)", srun, "-n", String(ranks)] }
    }

    /// Two hosts joined by a network link: two network namespaces and a veth pair
    /// (`scripts/netns-hosts`), Open MPI's TCP transport alone between them, its rsh launcher
    /// starting the second host's daemon through the script's agent instead of ssh. Training
    /// across them ends with the weights of one process.
    func testTwoRanksOnTwoHostsOverTCPTrainTheWeightsOfOneProcess() throws {
        let script = Self.repository.appendingPathComponent("scripts/netns-hosts").path
        let hosts = "sl\(getpid())"
        let up = try SystemTool.run("/bin/bash", [script, "up", hosts])
        defer { _ = try? SystemTool.run("/bin/bash", [script, "down", hosts]) }
        // The script exits 77 where the machine cannot make the hosts (no iproute2, CAP_NET_ADMIN or veth).
        try XCTSkipIf(up.status == 77, "two-host test skipped: \(up.output)")
        XCTAssertEqual(up.status, 0, up.output)
        guard up.status == 0 else { return }
        _ = try trainWithSyncBatchNormOnOneAndTwoRanks("skinlesion-mpi-hosts",
                                                       launcher: { ["/bin/bash", script, "mpirun", hosts, "-np", String($0)] })
    }

    func testAGlobalBatchTheRanksDoNotDivideIsAnErrorNamingBoth() throws {
        let directory = try temporaryDirectory("skinlesion-mpi-batch")
        let data = try data(in: directory)
        let arguments = try arguments(data, output: directory.appendingPathComponent("run"), []).map { $0 == "32" ? "15" : $0 }
        let result = try run(arguments, ranks: 2,
                             logs: directory.appendingPathComponent("run"))
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("the batch size 15 is the global batch and must divide evenly among the 2 ranks"),
                      result.stderr)
        XCTAssertTrue(result.stderr.contains("rank 0 of 2") || result.stderr.contains("rank 1 of 2"), result.stderr)
    }

    /// SIGKILL rank 1 after the first mid-epoch checkpoint: the job ends non-zero, every
    /// checkpoint on disk is whole (a temporary file rank 0 was writing is never renamed, and
    /// the resumed run removes it), and `--resume` on one process (the same global batch)
    /// finishes with the weights of an uninterrupted single-process run.
    func testAKilledRankEndsTheJobAndTheRunResumesOnAnotherRankCount() throws {
        let directory = try temporaryDirectory("skinlesion-mpi-kill")
        let data = try data(in: directory)
        let extra = ["--sync-bn", "--epochs", "3", "--checkpoint-every", "1"]
        let straight = RunDirectory(directory.appendingPathComponent("straight"))
        let reference = try run(arguments(data, output: straight.url, extra), ranks: nil, logs: directory.appendingPathComponent("straight"))
        XCTAssertEqual(reference.status, 0, reference.stderr)

        let killed = RunDirectory(directory.appendingPathComponent("killed"))
        let logs = directory.appendingPathComponent("killed")
        let job = try CommandLineTool.start(try arguments(data, output: killed.url, extra), logs: logs,
                                            environment: mpiEnvironment, wrapper: mpirun(2))
        let deadline = Date().addingTimeInterval(120)
        while job.isRunning && killed.existingCheckpoints().isEmpty && Date() < deadline { usleep(2000) }
        let victim = try XCTUnwrap(Self.rank(1, under: job.processIdentifier), "no rank 1 process under mpirun")
        kill(victim, SIGKILL)
        let result = CommandLineTool.result(of: job, logs: logs)
        XCTAssertNotEqual(result.status, 0, "the job must fail when a rank dies: \(result.stderr)")
        let progress = try XCTUnwrap(killed.existingCheckpoints().last).lastPathComponent
        XCTAssertGreaterThan(try TinyTraining.checkReadable(killed), 0)

        let resumed = try run(["train", "--resume", killed.url.path], ranks: nil, logs: directory.appendingPathComponent("resumed"))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resuming from"), "resumed after \(progress): \(resumed.stderr)")
        try assertSameState(straight, killed)
    }

    /// The pid of rank `rank` among the children of `mpirun` (Open MPI gives each its rank in
    /// the environment).
    static func rank(_ rank: Int, under parent: Int32) -> Int32? {
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap(Int32.init) ?? []
        for pid in processes {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[1]) == parent,
                  let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let variables = environment.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }

    // The rules that make the equivalence hold, without MPI.

    func testEachRankTakesItsShareOfEveryFullGlobalBatch() throws {
        let order = Array((0..<70).reversed())
        let shares = try (0..<2).map { rank in
            try DataParallel(communicator: FakeRank(rank: rank, size: 2), globalBatch: 32).share(of: order)
        }
        XCTAssertEqual(shares[0], Array(order[0..<16]) + Array(order[32..<48]))
        XCTAssertEqual(shares[1], Array(order[16..<32]) + Array(order[48..<64]))
        XCTAssertThrowsError(try DataParallel(communicator: FakeRank(rank: 0, size: 3), globalBatch: 32)) {
            XCTAssertTrue("\($0)".contains("32") && "\($0)".contains("3 ranks"), "\($0)")
        }
    }

    func testShardsAreContiguousRunsOfWholeBatches() {
        let shards = (0..<3).map { FakeRank(rank: $0, size: 3).shard(count: 70, batchSize: 8) }
        XCTAssertEqual(shards, [0..<24, 24..<48, 48..<70])
        XCTAssertEqual((0..<4).map { FakeRank(rank: $0, size: 4).shard(count: 2, batchSize: 1) }, [0..<0, 0..<1, 1..<1, 1..<2])
        XCTAssertEqual(SingleProcess().shard(count: 5, batchSize: 32), 0..<5)
    }

    func testALaunchIsRecognisedByItsEnvironment() {
        XCTAssertFalse(World.launched([:]))
        XCTAssertFalse(World.launched(["OMPI_COMM_WORLD_SIZE": "1"]))
        XCTAssertTrue(World.launched(["OMPI_COMM_WORLD_SIZE": "2"]))
        XCTAssertTrue(World.launched(["PMI_SIZE": "4"]))
        XCTAssertTrue(World.launched(["PMIX_RANK": "0"]))
    }

    func testSrunTasksWithoutAProcessManagerAreRecognised() {
        XCTAssertNil(World.unconnectedTasks([:]))
        XCTAssertNil(World.unconnectedTasks(["SLURM_NTASKS": "8"]), "a batch script itself is no step")
        XCTAssertNil(World.unconnectedTasks(["SLURM_STEP_NUM_TASKS": "1"]))
        XCTAssertNil(World.unconnectedTasks(["SLURM_STEP_NUM_TASKS": "2", "PMIX_RANK": "1"]))
        XCTAssertNil(World.unconnectedTasks(["SLURM_STEP_NUM_TASKS": "1", "OMPI_COMM_WORLD_SIZE": "2"]), "mpirun inside a step")
        XCTAssertEqual(World.unconnectedTasks(["SLURM_STEP_NUM_TASKS": "4"]), 4)
        XCTAssertTrue("\(UnconnectedLaunch(tasks: 4))".contains("srun --mpi=pmix"))
    }
}

/// A rank of a job that never communicates: enough for the sharing rules.
private final class FakeRank: Communicator {
    let rank: Int, size: Int
    init(rank: Int, size: Int) { (self.rank, self.size) = (rank, size) }
    func broadcast(_ values: UnsafeMutableBufferPointer<Float>, from root: Int) throws {}
    func broadcast(bytes: [UInt8], from root: Int) throws -> [UInt8] { bytes }
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> any PendingReduction {
        try SingleProcess().startAllreduceSum(values)
    }
    func gather(bytes: [UInt8], to root: Int) throws -> [[UInt8]]? { nil }
    func barrier() throws {}
    func abort(_ message: String, code: Int32) -> Never { fatalError(message) }
    func finalize() {}
}
