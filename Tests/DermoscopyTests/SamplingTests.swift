import Foundation
import XCTest
import Dermoscopy

final class SamplingTests: XCTestCase {
    func testInverseFrequencyWeights() {
        // w ∝ 1/n, scaled so Σ w·n = Σ n: w = N / (C · n) = 100 / (3 · n).
        let weights = ClassWeights.compute(counts: [10, 30, 60], method: .inverseFrequency)
        XCTAssertEqual(weights[0], 10.0 / 3, accuracy: 1e-5)
        XCTAssertEqual(weights[1], 10.0 / 9, accuracy: 1e-5)
        XCTAssertEqual(weights[2], 5.0 / 9, accuracy: 1e-5)
    }

    func testEffectiveNumberWeights() {
        // β = 0.9: raw (1−β)/(1−βⁿ) = 0.1/(1−0.9¹⁰) = 0.1535340 and 0.1/(1−0.9¹⁰⁰) = 0.1000027;
        // scale = 110 / (10·0.1535340 + 100·0.1000027) = 9.535669.
        let weights = ClassWeights.compute(counts: [10, 100], method: .effectiveNumber, beta: 0.9)
        XCTAssertEqual(weights[0], 1.464050, accuracy: 1e-4)
        XCTAssertEqual(weights[1], 0.953592, accuracy: 1e-4)
        XCTAssertEqual(Double(weights[0]) * 10 + Double(weights[1]) * 100, 110, accuracy: 1e-3)
    }

    func testWeightsOnHAMAreNormalizedAndEmptyClassesGetZero() throws {
        let counts = [14, 17, 19, 11, 82, 107, 13, 0]
        for method in [ClassWeighting.inverseFrequency, .effectiveNumber] {
            let weights = ClassWeights.compute(counts: counts, method: method)
            let mean = zip(weights, counts).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / Double(counts.reduce(0, +))
            XCTAssertEqual(mean, 1, accuracy: 1e-5, "\(method)")
            XCTAssertEqual(weights[7], 0)
            XCTAssertGreaterThan(weights[3], weights[5], "df must outweigh nv")
        }
        XCTAssertEqual(ClassWeights.compute(counts: counts, method: .none), Array(repeating: 1, count: 8))
    }

    func testShuffleIsAPermutationDeterministicPerEpoch() throws {
        let sampler = EpochSampler(labels: Array(repeating: 0, count: 50) + Array(repeating: 1, count: 50), strategy: .shuffle, seed: 9)
        let epoch3 = sampler.order(epoch: 3)
        XCTAssertEqual(epoch3.sorted(), Array(0..<100))
        XCTAssertEqual(sampler.order(epoch: 3), epoch3)
        XCTAssertNotEqual(sampler.order(epoch: 4), epoch3)
        XCTAssertNotEqual(EpochSampler(labels: sampler.labels, strategy: .shuffle, seed: 10).order(epoch: 3), epoch3)

        // A sampler restored from a checkpoint continues with the same orders.
        let restored = try JSONDecoder().decode(EpochSampler.self, from: JSONEncoder().encode(sampler))
        XCTAssertEqual(restored.order(epoch: 3), epoch3)
    }

    func testBalancedSamplerApproachesUniformClasses() {
        let labels = Array(repeating: 0, count: 900) + Array(repeating: 1, count: 90) + Array(repeating: 2, count: 10)
        let sampler = EpochSampler(labels: labels, strategy: .balanced, seed: 1)
        var perClass = [0, 0, 0]
        var seen = Set<Int>()
        for epoch in 0..<20 {
            let order = sampler.order(epoch: epoch)
            XCTAssertEqual(order.count, labels.count)
            for index in order { perClass[labels[index]] += 1; seen.insert(index) }
        }
        for count in perClass { XCTAssertEqual(Double(count) / 20_000, 1.0 / 3, accuracy: 0.02, "\(perClass)") }
        XCTAssertTrue((900..<1000).allSatisfy(seen.contains), "every minority image is drawn")
        XCTAssertEqual(sampler.order(epoch: 5), sampler.order(epoch: 5))
        XCTAssertNotEqual(sampler.order(epoch: 5), sampler.order(epoch: 6))
    }

    func testOversampleRepeatsMinoritiesUpToFactorOrMajority() {
        let labels = Array(repeating: 0, count: 100) + Array(repeating: 1, count: 20) + Array(repeating: 2, count: 5)
        let order = EpochSampler(labels: labels, strategy: .oversample(factor: 3), seed: 4).order(epoch: 0)
        let perClass = order.reduce(into: [0, 0, 0]) { $0[labels[$1]] += 1 }
        XCTAssertEqual(perClass, [100, 60, 15])
        XCTAssertTrue(Set(order).isSuperset(of: 0..<125), "every image at least once")
        XCTAssertEqual(Dictionary(grouping: order.filter { $0 >= 120 }, by: { $0 }).values.map(\.count).sorted(), [3, 3, 3, 3, 3])

        let capped = EpochSampler(labels: labels, strategy: .oversample(factor: 50), seed: 4).order(epoch: 0)
        XCTAssertEqual(capped.reduce(into: [0, 0, 0]) { $0[labels[$1]] += 1 }, [100, 100, 100])

        // 2.5 × 20 = 50: two whole copies plus 10 distinct extra images.
        let partial = EpochSampler(labels: labels, strategy: .oversample(factor: 2.5), seed: 4).order(epoch: 0)
        let class1 = Dictionary(grouping: partial.filter { (100..<120).contains($0) }, by: { $0 }).values.map(\.count)
        XCTAssertEqual(class1.sorted(), Array(repeating: 2, count: 10) + Array(repeating: 3, count: 10))
        XCTAssertNotEqual(EpochSampler(labels: labels, strategy: .oversample(factor: 2.5), seed: 4).order(epoch: 1), partial)
    }

    func testStrategiesRoundTripThroughJSON() throws {
        for strategy in [EpochSampler.Strategy.shuffle, .balanced, .oversample(factor: 2.5)] {
            let decoded = try JSONDecoder().decode(EpochSampler.Strategy.self, from: JSONEncoder().encode(strategy))
            XCTAssertEqual(decoded, strategy)
        }
    }
}
