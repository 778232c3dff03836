// swift-tools-version:6.0
import PackageDescription

/// Module layout follows ../shared/DESIGN.md: dependencies only point down
/// (skinlesion → Inference → Models → NeuralNet → CDNNL).
let package = Package(
    name: "SkinLesion",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "skinlesion", targets: ["skinlesion"]),
        .library(name: "NeuralNet", targets: ["NeuralNet"]),
        .library(name: "Models", targets: ["Models"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .target(name: "NeuralNet", dependencies: ["CDNNL"]),
        .target(name: "Models", dependencies: ["NeuralNet"]),
        .target(name: "Inference", dependencies: ["Models", "NeuralNet"]),
        .executableTarget(
            name: "skinlesion",
            dependencies: [
                "Inference", "Models", "NeuralNet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet"]),
        .testTarget(name: "ModelsTests", dependencies: ["Inference", "Models", "NeuralNet"]),
    ]
)
