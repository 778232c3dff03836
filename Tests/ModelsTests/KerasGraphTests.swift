import Foundation
import XCTest
@testable import Interop

/// The configuration walk on hostile graphs the `keras-config` fuzz target found.
final class KerasGraphTests: XCTestCase {
    /// A layer reading its own output (here through a nested model) sent the walk from the
    /// output back to the backbone around forever, allocating until memory ran out (2.7 GB
    /// for the fuzz input, kept as a fixture); it is refused by name when the graph is read.
    func testLayerCyclesAreRefusedWhenTheGraphIsRead() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/fuzz/keras-config-layer-cycle.txt")
        let bytes = try Data(contentsOf: fixture)
        let json = bytes[(bytes.firstIndex(of: 0x0A)! + 1)...]
        let small = Data("""
            {"class_name": "Functional", "config": {"name": "m", "input_layers": [["in", 0, 0]], "output_layers": [["b", 0, 0]],
             "layers": [{"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [null, 32, 32, 3]}, "inbound_nodes": []},
                        {"class_name": "Dense", "name": "a", "config": {}, "inbound_nodes": [[["b", 0, 0, {}]]]},
                        {"class_name": "Dense", "name": "b", "config": {}, "inbound_nodes": [[["a", 0, 0, {}]]]}]}}
            """.utf8)
        for (label, input) in [("fuzz input", Data(json)), ("a ⇄ b", small)] {
            XCTAssertThrowsError(try KerasGraph(json: input, file: "cycle.keras"), label) { error in
                XCTAssertTrue("\(error)".contains("reads its own output (the layers form a cycle)"), "\(label): \(error)")
            }
        }
    }
}
