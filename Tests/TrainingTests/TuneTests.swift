import Foundation
import TestSupport
import XCTest
@testable import Training

/// `skinlesion tune`: the halving plan, the space, and a real search through the binary whose
/// promotions, resumes and chosen trial are checked against the trials' own run directories.
final class TuneTests: XCTestCase {
    func testRungsHalveTheTrialsAndPromoteTheBestNeverTheFailed() throws {
        XCTAssertEqual(try SuccessiveHalving(trials: 8, minEpochs: 1, maxEpochs: 9, reduction: 2).budgets, [1, 2, 4, 9])
        XCTAssertEqual(try SuccessiveHalving(trials: 9, minEpochs: 1, maxEpochs: 9, reduction: 3).budgets, [1, 3, 9])
        XCTAssertEqual(try SuccessiveHalving(trials: 4, minEpochs: 1, maxEpochs: 2, reduction: 2).budgets, [1, 2])
        XCTAssertEqual(try SuccessiveHalving(trials: 1, minEpochs: 1, maxEpochs: 5, reduction: 2).budgets, [5])
        XCTAssertEqual(try SuccessiveHalving(trials: 6, minEpochs: 3, maxEpochs: 3, reduction: 2).budgets, [3])

        let plan = try SuccessiveHalving(trials: 5, minEpochs: 1, maxEpochs: 4, reduction: 2)
        let results: [(trial: Int, metric: Double?)] = [(0, 0.5), (1, nil), (2, 0.7), (3, 0.5), (4, 0.6)]
        XCTAssertEqual(plan.promote(results, higherIsBetter: true), [2, 4])
        XCTAssertEqual(plan.promote(results, higherIsBetter: false), [0, 3], "lowest loss first, ties to the lower trial")
        XCTAssertEqual(SuccessiveHalving.rank(results, higherIsBetter: true), [2, 4, 0, 3])
        XCTAssertEqual(plan.promote([(0, nil), (1, nil)], higherIsBetter: true), [])

        XCTAssertThrowsError(try SuccessiveHalving(trials: 4, minEpochs: 5, maxEpochs: 4, reduction: 2))
        XCTAssertThrowsError(try SuccessiveHalving(trials: 4, minEpochs: 1, maxEpochs: 4, reduction: 1))
    }

    func testSpaceIsAGridSampledBySeedAndRefusesWhatTuneOwns() throws {
        let space = try TuningSpace(["lr=3e-4,1e-3,3e-3", "freeze=layer3,layer4", "image-size=64,96"])
        XCTAssertEqual(space.gridSize, 12)
        XCTAssertEqual(space.configuration(0).map(\.value), ["3e-4", "layer3", "64"])
        XCTAssertEqual(space.configuration(1).map(\.value), ["3e-4", "layer3", "96"])
        XCTAssertEqual(space.configuration(11).map(\.value), ["3e-3", "layer4", "96"])
        XCTAssertEqual(space.sample(20, seed: 1), Array(0..<12), "a grid no bigger than the trials is run whole")
        let sample = space.sample(5, seed: 7)
        XCTAssertEqual(sample, space.sample(5, seed: 7))
        XCTAssertEqual(Set(sample).count, 5)
        XCTAssertTrue(sample.allSatisfy { (0..<12).contains($0) })
        XCTAssertNotEqual((1...20).map { space.sample(5, seed: $0) }.filter { $0 != sample }.count, 0, "the seed draws the sample")

        for (terms, message) in [(["lr"], "expected option=value1,value2"), (["--lr=1"], "is not a train option name"),
                                 (["epochs=1,2"], "--epochs belongs to tune itself"), (["seed=1,2"], "--seed belongs to tune itself"),
                                 (["lr=1,1"], "distinct, non-empty values"), (["lr=1,"], "distinct, non-empty values"),
                                 (["lr=1", "lr=2"], "names 'lr' twice"), ([], "at least one"),
                                 ((0..<5).map { "o\($0)=" + (0..<10).map(String.init).joined(separator: ",") },
                                  "more than 10000 configurations")] {
            XCTAssertThrowsError(try TuningSpace(terms), "\(terms)") { error in
                XCTAssertTrue("\(error)".contains(message), "\(terms): \(error)")
            }
        }
    }

    func testSearchTrainsRungsResumesPromotedTrialsExactlyAndRerunsAsANoOp() throws {
        let directory = try temporaryDirectory("skinlesion-tune")
        // Ranked by validation loss, which differs between trials of this tiny run (its
        // balanced accuracies all sit at chance), and which also checks that lower is better.
        let data = directory.appendingPathComponent("data")
        try SyntheticLesions.write(to: data, classes: ["mel", "nv", "bkl"], perClass: 24, side: 32)
        let root = directory.appendingPathComponent("search")
        let command = ["tune", "--dataset", data.path, "--space", "lr=3e-3,1e-5", "freeze=all,_blocks.15",
                       "--epochs", "2", "--monitor", "loss", "--seed", "5", "--output", root.path,
                       "--", "--arch", "efficientnet-lite0", "--image-size", "32", "--batch-size", "4", "--threads", "1"]
        let first = try CommandLineTool.run(command, logs: directory.appendingPathComponent("tune"))
        XCTAssertEqual(first.status, 0, first.stderr)
        print(first.stdout)

        let search = try JSONDecoder().decode(TuningSearch.self, from: Data(contentsOf: TuningSearch.file(in: root)))
        XCTAssertEqual(search.trials.map(\.label), ["lr=3e-3 freeze=all", "lr=3e-3 freeze=_blocks.15",
                                                    "lr=1e-5 freeze=all", "lr=1e-5 freeze=_blocks.15"])
        let runs = search.trials.map { RunDirectory(root.appendingPathComponent($0.name)) }
        let records = runs.map(EpochRecord.read)
        // Rung 1: every trial trained one epoch; the best two by validation loss (ties to the
        // lower trial) went on to the second and last.
        let firstEpoch = records.map { $0.first?.valLoss }
        XCTAssertEqual(Set(firstEpoch.compactMap { $0 }).count, 4, "the trials must differ: \(firstEpoch)")
        let promoted = Set(SuccessiveHalving.rank(firstEpoch.enumerated().map { ($0.offset, $0.element) }, higherIsBetter: false).prefix(2))
        XCTAssertEqual(records.map(\.count), (0..<4).map { promoted.contains($0) ? 2 : 1 }, "promoted \(promoted.sorted())")
        // The barely moving lr=1e-5 trials, listed last, keep the untrained head's lower loss.
        XCTAssertNotEqual(promoted, [0, 1], "promotion must follow the scores, not the order: \(firstEpoch)")
        let bestLoss = runs.indices.map { index in records[index].map(\.valLoss).min()! }
        let chosen = promoted.sorted().min { bestLoss[$0] < bestLoss[$1] || (bestLoss[$0] == bestLoss[$1] && $0 < $1) }!
        XCTAssertTrue(first.stdout.contains("best: \(search.trials[chosen].name) (\(search.trials[chosen].label)), val loss "), first.stdout)
        XCTAssertTrue(first.stdout.contains("train it again: skinlesion train --dataset"), first.stdout)
        let csv = try String(contentsOf: root.appendingPathComponent("trials.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").first, "trial,lr,freeze,rung 1 (1 ep),rung 2 (2 ep)")
        XCTAssertEqual(csv.split(separator: "\n").count, 5)

        // A promoted trial stopped after its first epoch and resumed: exactly the run it would
        // have been without the stop.
        let resumed = promoted.sorted()[0]
        let straight = RunDirectory(directory.appendingPathComponent("straight"))
        var arguments = search.trials[resumed].arguments
        arguments[arguments.firstIndex(of: "--output")! + 1] = straight.url.path
        let reference = try CommandLineTool.run(arguments, logs: directory.appendingPathComponent("straight"))
        XCTAssertEqual(reference.status, 0, reference.stderr)
        XCTAssertEqual(try Data(contentsOf: runs[resumed].bestModel), try Data(contentsOf: straight.bestModel))
        let ours = try XCTUnwrap(runs[resumed].existingCheckpoints().last), theirs = try XCTUnwrap(straight.existingCheckpoints().last)
        XCTAssertEqual(ours.lastPathComponent, theirs.lastPathComponent)
        XCTAssertEqual(try Data(contentsOf: ours), try Data(contentsOf: theirs))

        // The same command again trains nothing and prints the same result.
        let logs = try search.trials.map { try String(contentsOf: root.appendingPathComponent("logs/\($0.name).txt"), encoding: .utf8) }
        let again = try CommandLineTool.run(command, logs: directory.appendingPathComponent("again"))
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, first.stdout)
        XCTAssertEqual(try search.trials.map { try String(contentsOf: root.appendingPathComponent("logs/\($0.name).txt"), encoding: .utf8) }, logs)

        // Another search cannot reuse the directory.
        var other = command
        other[other.firstIndex(of: "--epochs")! + 1] = "3"
        let refused = try CommandLineTool.run(other, logs: directory.appendingPathComponent("other"))
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("records another search"), refused.stderr)
        let clash = try CommandLineTool.run(command + ["--lr", "1e-2"], logs: directory.appendingPathComponent("clash"))
        XCTAssertNotEqual(clash.status, 0)
        XCTAssertTrue(clash.stderr.contains("--lr after -- is set by tune itself or by --space"), clash.stderr)
    }

    /// `--launcher "mpirun -np 2"` runs every trial's `train` data-parallel (each run records 2
    /// ranks, the reproduction line names the launcher); tune itself under a launcher stops
    /// before training and names the option to use, and a launcher that is not there is refused.
    func testTrialsTrainUnderALauncherAndTuneItselfRefusesToRunUnderMPI() throws {
        let mpirun = "/usr/bin/mpirun"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: mpirun),
                          "mpirun is not installed (scripts/setup installs openmpi-bin); tune --launcher test skipped")
        let directory = try temporaryDirectory("skinlesion-tune-mpi")
        let data = directory.appendingPathComponent("data")
        try SyntheticLesions.write(to: data, classes: ["mel", "nv"], perClass: 12, side: 32)
        let root = directory.appendingPathComponent("search")
        let command = ["tune", "--dataset", data.path, "--space", "lr=3e-3,1e-4", "--epochs", "1", "--seed", "5",
                       "--output", root.path, "--launcher", "\(mpirun) -np 2 --oversubscribe",
                       "--", "--arch", "efficientnet-lite0", "--freeze", "_blocks.15", "--image-size", "32", "--batch-size", "4",
                       "--threads", "1"]
        let root0 = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]
        let search = try CommandLineTool.run(command, logs: directory.appendingPathComponent("tune"), environment: root0)
        XCTAssertEqual(search.status, 0, search.stderr)
        for trial in ["trial-00", "trial-01"] {
            let records = EpochRecord.read(from: RunDirectory(root.appendingPathComponent(trial)))
            XCTAssertEqual(records.map(\.ranks), [2], trial)
        }
        XCTAssertTrue(search.stdout.contains("train it again: \(mpirun) -np 2 --oversubscribe skinlesion train --dataset"), search.stdout)

        let nested = try CommandLineTool.run(command, logs: directory.appendingPathComponent("nested"),
                                             environment: ["OMPI_COMM_WORLD_SIZE": "2"])
        XCTAssertNotEqual(nested.status, 0)
        XCTAssertTrue(nested.stderr.contains("tune runs as one process, not under mpirun or srun"), nested.stderr)
        let missing = try CommandLineTool.run(command.map { $0.hasPrefix(mpirun) ? "no-such-launcher -np 2" : $0 },
                                              logs: directory.appendingPathComponent("missing"))
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("--launcher: no-such-launcher is not an executable on PATH"), missing.stderr)
    }
}
