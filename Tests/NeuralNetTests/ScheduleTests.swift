import Foundation
import XCTest
@testable import NeuralNet

/// Expected values for warmup-cosine, OneCycle and ReduceOnPlateau come from a pure-Python
/// re-implementation of transformers' / torch's formulas (torch.optim.lr_scheduler.OneCycleLR's
/// `_schedule_phases` and `_annealing_cos`, ReduceLROnPlateau.step), run once and pasted here.
final class ScheduleTests: XCTestCase {
    private func assertFactors(_ schedule: LearningRateSchedule, _ expected: [Int: Double],
                               file: StaticString = #filePath, line: UInt = #line) {
        for (step, value) in expected.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(Double(schedule.factor(at: step)), value, accuracy: 1e-6 * max(value, 1e-3),
                           "\(schedule) at step \(step)", file: file, line: line)
        }
    }

    func testConstantAndStep() {
        assertFactors(.constant, [0: 1, 1000: 1])
        assertFactors(.step(stepSize: 10, gamma: 0.5), [0: 1, 9: 1, 10: 0.5, 25: 0.25, 30: 0.125])
    }

    func testWarmupCosine() {
        assertFactors(.warmupCosine(warmupSteps: 10, totalSteps: 110, minFactor: 0.01),
                      [0: 0, 5: 0.5, 10: 1, 35: 0.855017856687341, 60: 0.505, 110: 0.01, 200: 0.01])
    }

    /// OneCycleLR(max_lr=1, total_steps=100): 1/25 at step 0, the peak at pct_start·total − 1 = 29,
    /// 1/(25·10⁴) at the last step.
    func testOneCycleMatchesTorch() {
        assertFactors(.oneCycle(totalSteps: 100),
                      [0: 0.04, 10: 0.29516394846410077, 29: 1, 30: 0.9994965352845243,
                       50: 0.793893450575732, 99: 4e-06, 150: 4e-06])
        // A fractional peak step (0.25·10 − 1 = 1.5) splits the phases between steps 1 and 2.
        assertFactors(.oneCycle(totalSteps: 10, pctStart: 0.25),
                      [0: 0.04, 1: 0.7599999999999999, 2: 0.9890738440717014, 5: 0.5522660225769003, 9: 4e-06])
    }

    func testSchedulesRoundTripThroughJSON() throws {
        let schedules: [LearningRateSchedule] = [
            .constant, .warmupCosine(warmupSteps: 5, totalSteps: 50, minFactor: 0.1),
            .oneCycle(totalSteps: 100), .step(stepSize: 3, gamma: 0.1),
        ]
        for schedule in schedules {
            let decoded = try JSONDecoder().decode(LearningRateSchedule.self, from: JSONEncoder().encode(schedule))
            XCTAssertEqual(decoded, schedule)
        }
    }

    /// Patience 2 and cooldown 1 (mode min, relative threshold 1e-4): the third bad epoch in a row
    /// reduces; 0.99995 is no improvement on 1.0 (it misses 1.0·(1 − 1e-4)); the epoch after a
    /// reduction does not count, so the next reduction comes at epoch 8 rather than 7.
    func testReduceOnPlateauFollowsTorch() throws {
        let metrics = [1.0, 1.0, 0.99995, 1.1, 1.2, 1.2, 1.2, 1.2, 0.5, 0.6, 0.6, 0.6]
        let reduces = [false, false, false, true, false, false, false, true, false, false, false, true]
        let factors: [Float] = [1, 1, 1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.001]
        var plateau = try ReduceOnPlateau(mode: .min, patience: 2, cooldown: 1)
        for (epoch, metric) in metrics.enumerated() {
            if epoch == 6 {
                // A checkpoint mid-run: the decoded copy must carry on identically.
                plateau = try JSONDecoder().decode(ReduceOnPlateau.self, from: JSONEncoder().encode(plateau))
            }
            XCTAssertEqual(plateau.update(metric: metric), reduces[epoch], "epoch \(epoch + 1)")
            XCTAssertEqual(plateau.factor, factors[epoch], accuracy: 1e-9, "epoch \(epoch + 1)")
        }
        XCTAssertEqual(plateau.best, 0.5)
    }

    func testReduceOnPlateauMaxModeAndFloor() throws {
        let plateau = try ReduceOnPlateau(mode: .max, reduction: 0.5, patience: 0, minFactor: 0.3)
        XCTAssertFalse(plateau.update(metric: 0.8))
        XCTAssertFalse(plateau.update(metric: 0.9), "higher is better")
        XCTAssertTrue(plateau.update(metric: 0.9))
        XCTAssertEqual(plateau.factor, 0.5)
        XCTAssertTrue(plateau.update(metric: 0.7))
        XCTAssertEqual(plateau.factor, 0.3, "not below minFactor")
        XCTAssertFalse(plateau.update(metric: 0.7), "at the floor nothing is reduced")
        XCTAssertThrowsError(try ReduceOnPlateau(mode: .min, reduction: 1))
    }
}
