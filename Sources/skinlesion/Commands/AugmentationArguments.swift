import ArgumentParser
import Dermoscopy

/// Training-time augmentation: a preset plus individual overrides, validated once here so
/// worker threads never meet a bad configuration.
struct AugmentationArguments: ParsableArguments {
    enum Preset: String, ExpressibleByArgument, CaseIterable {
        case none, dermoscopy
    }

    @Option(help: "Augmentation preset: none, or dermoscopy (all 8 flips/transposes, rotation, scale, shift, random resized crop, mild colour jitter).")
    var augment: Preset = .dermoscopy

    @Flag(inversion: .prefixedNo, help: "Random horizontal/vertical flips and transposes (the 8 dihedral views).")
    var flips: Bool?

    @Option(help: "Random rotation range in degrees (±value); 0 turns it off.")
    var rotation: Float?

    @Option(help: "Random zoom range, as LOW,HIGH (e.g. 0.8,1.2).")
    var scale: String?

    @Option(help: "Random shift as a fraction of the image size.")
    var shift: Float?

    @Option(help: "Random resized crop area range, as LOW,HIGH (e.g. 0.6,1); 'off' disables it.")
    var cropScale: String?

    @Option(help: "Colour jitter as BRIGHTNESS,CONTRAST,SATURATION,HUE (torchvision semantics); 'off' disables it.")
    var jitter: String?

    @Option(help: "Cutout as HOLES,SIZE (size a fraction of the side); 'off' disables it.")
    var cutout: String?

    /// The configuration these flags describe.
    func config() throws -> AugmentationConfig {
        var config = augment == .dermoscopy ? AugmentationConfig.dermoscopy : .none
        if let flips { (config.horizontalFlip, config.verticalFlip, config.transpose) = (flips, flips, flips) }
        if let rotation { config.rotationDegrees = rotation }
        if let scale { config.scale = try range(scale, "--scale") }
        if let shift { config.shift = shift }
        if let cropScale {
            config.randomResizedCrop = cropScale == "off" ? nil : RandomResizedCrop(scale: try range(cropScale, "--crop-scale"))
        }
        if let jitter {
            if jitter == "off" {
                config.colorJitter = nil
            } else {
                let v = try numbers(jitter, count: 4, "--jitter")
                config.colorJitter = ColorJitter(brightness: v[0], contrast: v[1], saturation: v[2], hue: v[3])
            }
        }
        if let cutout {
            if cutout == "off" {
                config.cutout = nil
            } else {
                let v = try numbers(cutout, count: 2, "--cutout")
                guard v[0] >= 1, v[0] == v[0].rounded() else { throw ValidationError("--cutout needs a whole number of holes ≥ 1, got \(v[0])") }
                config.cutout = Cutout(holes: Int(v[0]), size: v[1])
            }
        }
        do {
            try config.validate()
        } catch {
            throw ValidationError("augmentation: \(error)")
        }
        return config
    }

    private func numbers(_ text: String, count: Int, _ option: String) throws -> [Float] {
        let values = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == count, values.allSatisfy({ $0 != nil }) else {
            throw ValidationError("\(option) needs \(count) comma-separated numbers, got '\(text)'")
        }
        return values.map { $0! }
    }

    private func range(_ text: String, _ option: String) throws -> ClosedRange<Float> {
        let v = try numbers(text, count: 2, option)
        guard v[0] <= v[1] else { throw ValidationError("\(option) needs LOW ≤ HIGH, got '\(text)'") }
        return v[0]...v[1]
    }
}
