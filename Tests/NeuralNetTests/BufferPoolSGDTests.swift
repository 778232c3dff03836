import XCTest
@testable import NeuralNet
import TestSupport

final class BufferPoolSGDTests: XCTestCase {
    func testFreedBuffersAreReusedAndIdleMemoryIsBounded() {
        let pool = BufferPool(idleLimit: 3 * 8192)
        let a = pool.take(5000)
        XCTAssertEqual(a.bytes, 8192, "sizes round up to whole pages")
        pool.give(a.pointer, bytes: a.bytes)
        let b = pool.take(8000)
        XCTAssertEqual(b.pointer, a.pointer, "a freed buffer of the same size class is handed out again")
        let others = (0..<4).map { _ in pool.take(8192) }
        for buffer in others + [b] { pool.give(buffer.pointer, bytes: buffer.bytes) }
        XCTAssertEqual(pool.idleBytes, 3 * 8192, "idle buffers beyond the limit are released")
        pool.drain()
        XCTAssertEqual(pool.idleBytes, 0)
    }

    func testTensorsDoNotShareLiveBuffers() throws {
        let a = try Tensor(shape: [1000], repeating: 1)
        let b = try Tensor(shape: [1000], repeating: 2)
        XCTAssertNotEqual(a.rawPointer, b.rawPointer)
        XCTAssertEqual(try a.toArray(), [Float](repeating: 1, count: 1000))
    }

    /// PyTorch's SGD: v ← μv + (g + λw); w ← w − lr·v, or w − lr·(g + λw + μv) with Nesterov.
    func testSGDFollowsPyTorchsFormulas() throws {
        for nesterov in [false, true] {
            let layer = try Linear(2, 1, bias: false)
            try layer.weight.assign([1, -2])
            let sgd = try SGD(learningRate: 0.1, momentum: 0.9, nesterov: nesterov, weightDecay: 0.01)
            var w: [Double] = [1, -2], v: [Double] = [0, 0]
            for step in 0..<3 {
                let g: [Float] = [0.5 + Float(step), -0.25]
                layer.weight.grad = try Tensor(shape: [1, 2], values: g)
                sgd.step(layer.namedParameters)
                for i in 0..<2 {
                    let d = Double(g[i]) + 0.01 * w[i]
                    v[i] = 0.9 * v[i] + d
                    w[i] -= 0.1 * (nesterov ? d + 0.9 * v[i] : v[i])
                }
                assertClose(layer.weight.values, w.map(Float.init), tolerance: 1e-6, "step \(step) nesterov \(nesterov)")
            }
        }
        let frozen = try Linear(2, 1)
        frozen.setFrozen(true)
        frozen.weight.grad = try Tensor(shape: [1, 2], values: [1, 1])
        let before = frozen.weight.values
        try SGD(learningRate: 1).step(frozen.namedParameters)
        XCTAssertEqual(frozen.weight.values, before, "frozen weights do not move")
        XCTAssertThrowsError(try SGD(learningRate: 0.1, nesterov: true))
    }
}
