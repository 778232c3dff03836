import Foundation
import NeuralNet
import TestSupport
import XCTest
@testable import Training

/// SIGKILL a real `skinlesion train` at 20 seeded random moments (while a checkpoint or another
/// file is being written, just after a checkpoint, or after a random delay, startup included),
/// resume each time: every checkpoint on disk stays readable, and the final best model and
/// last checkpoint are byte-identical to an uninterrupted run's.
final class KillDuringTrainingTests: XCTestCase {
    /// When to kill.
    enum Moment {
        /// When the (skip + 1)-th temporary file appears that was not there before: mid-write
        /// (a checkpoint, the best model, a log, the configuration).
        case whileWriting(skip: Int)
        /// Just after the run has completed this many more checkpoints.
        case afterCheckpoints(Int)
        /// After this long since the process started: in startup, in a step or in a write.
        case after(milliseconds: Int)

        /// Delays reach a quarter into the training an uninterrupted run does after its
        /// `startup`, so that most kills interrupt it rather than outwait it.
        static func draw(_ rng: inout SeededGenerator, startup: Double, training: Double) -> Moment {
            switch rng.next() % 3 {
            case 0: return .whileWriting(skip: Int(rng.next() % 3))
            case 1: return .afterCheckpoints(1 + Int(rng.next() % 2))
            default: return .after(milliseconds: Int(rng.next() % UInt64(max(1, (startup + training / 4) * 1000))))
            }
        }
    }

    func testTwentyKillsAndResumesEndExactlyAsAnUninterruptedRun() throws {
        let directory = try temporaryDirectory("skinlesion-kill")
        let training = try TinyTraining(in: directory)
        let straight = RunDirectory(directory.appendingPathComponent("straight"))
        let straightLogs = directory.appendingPathComponent("straight")
        let uninterrupted = try CommandLineTool.start(training.arguments(output: straight.url), logs: straightLogs)
        let began = Date()
        while uninterrupted.isRunning && straight.existingCheckpoints().isEmpty { usleep(500) }
        let startup = Date().timeIntervalSince(began)
        let reference = CommandLineTool.result(of: uninterrupted, logs: straightLogs)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let trainingTime = Date().timeIntervalSince(began) - startup

        let run = RunDirectory(directory.appendingPathComponent("killed"))
        var rng = SeededGenerator(seed: 20)
        var kills: [String] = []
        var round = 0
        while kills.count < 20 && round < 60 {
            round += 1
            let arguments = FileManager.default.fileExists(atPath: run.config.path) ? ["train", "--resume", run.url.path]
                                                                                    : training.arguments(output: run.url)
            let logs = directory.appendingPathComponent("round-\(round)")
            let moment = Moment.draw(&rng, startup: startup, training: trainingTime)
            let staleTemporaries = temporaries(in: run)
            let startCheckpoint = run.existingCheckpoints().last?.lastPathComponent
            let process = try CommandLineTool.start(arguments, logs: logs)
            let start = Date()
            var interrupted = ""
            var seen = Set<String>()
            while process.isRunning && interrupted.isEmpty {
                switch moment {
                case .whileWriting(let skip):
                    seen.formUnion(temporaries(in: run).subtracting(staleTemporaries))
                    if seen.count > skip, let writing = temporaries(in: run).subtracting(staleTemporaries).first {
                        interrupted = "while writing \(writing)"
                    }
                case .afterCheckpoints(let count):
                    let names = run.existingCheckpoints().map(\.lastPathComponent)
                    if names.filter({ $0 > (startCheckpoint ?? "") }).count >= count { interrupted = "after \(names.last!)" }
                case .after(let milliseconds):
                    if Date().timeIntervalSince(start) * 1000 >= Double(milliseconds) { interrupted = "at \(milliseconds) ms" }
                }
                if interrupted.isEmpty { usleep(500) }
            }
            kill(process.processIdentifier, SIGKILL)
            let result = CommandLineTool.result(of: process, logs: logs)
            if result.signaled {
                kills.append(interrupted)
            } else {
                XCTAssertEqual(result.status, 0, "round \(round) ended by itself: \(result.stderr)")
            }
            try TinyTraining.checkReadable(run)
        }
        print(String(format: "uninterrupted run: %.2f s to its first checkpoint, %.2f s of training; ", startup, trainingTime)
              + "SIGKILL \(kills.count) times in \(round) rounds: \(kills.joined(separator: "; "))")
        XCTAssertEqual(kills.count, 20)
        XCTAssertTrue(kills.contains { $0.hasPrefix("while writing .step-") }, "a kill while a checkpoint was being written")
        let last = try CommandLineTool.run(["train", "--resume", run.url.path], logs: directory.appendingPathComponent("last"))
        XCTAssertEqual(last.status, 0, last.stderr)
        try assertSameEnd(run, straight)
        XCTAssertEqual(EpochRecord.read(from: run).map(\.valLoss), EpochRecord.read(from: straight).map(\.valLoss),
                       "the log has each epoch once, as the uninterrupted run's")
    }

    /// Temporary files of writes in progress (or left by a kill) in the run and its checkpoints.
    func temporaries(in run: RunDirectory) -> Set<String> {
        Set([run.url, run.checkpoints].flatMap { (try? FileManager.default.contentsOfDirectory(atPath: $0.path)) ?? [] }
            .filter(AtomicFile.isTemporary))
    }
}
