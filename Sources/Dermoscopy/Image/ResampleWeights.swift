/// Fixed-point filter weights along one axis, computed exactly as Pillow's `BILINEAR` resize
/// computes them (`precompute_coeffs` and `normalize_coeffs_8bpc` in Pillow's Resample.c), so
/// a resize here matches Pillow's to the bit and models trained on Pillow-resized images see
/// the same pixels.
///
/// The triangle filter's support widens with the downscale factor, so every input pixel
/// contributes to some output pixel (antialiasing) instead of being skipped.
struct ResampleWeights {
    /// Bits after the binary point: 32 − 8 (pixel values) − 2 (headroom), Pillow's choice.
    static let precisionBits: Int32 = 22

    /// First input index read for each output index in the requested range.
    let starts: [Int]
    /// `taps` weights per output index.
    let weights: [Int32]
    /// Input indices read per output index: the same for all of them (windows near an edge are
    /// shifted inwards and padded with zero weights), so the inner loops have a fixed trip
    /// count and never mispredict; adding zero-weighted terms leaves the sums unchanged.
    let taps: Int

    /// Weights for the outputs `range` of an `input` → `output` resize; a sub-range is how a
    /// centre crop after a resize is computed without resizing the discarded border.
    init(input: Int, output: Int, range: Range<Int>) {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = filterScale  // the triangle filter reaches 1 input pixel, widened by the scale
        let inverseScale = 1 / filterScale
        // Pillow's window for output `index`: inputs start..<end around the output's centre.
        func window(_ index: Int) -> (center: Double, start: Int, end: Int) {
            let center = (Double(index) + 0.5) * scale
            return (center, max(Int(center - support + 0.5), 0), min(Int(center + support + 0.5), input))
        }
        let taps = range.map { index in let w = window(index); return w.end - w.start }.max() ?? 1
        var starts = [Int](repeating: 0, count: range.count)
        var weights = [Int32](repeating: 0, count: range.count * taps)
        var exact = [Double](repeating: 0, count: taps)
        for (slot, index) in range.enumerated() {
            let (center, start, end) = window(index)
            var total = 0.0
            for i in start..<end {
                exact[i - start] = max(1 - abs((Double(i) - center + 0.5) * inverseScale), 0)
                total += exact[i - start]
            }
            let shifted = min(start, input - taps)
            starts[slot] = shifted
            for i in start..<end {
                // Pillow's `(int)(0.5 + w * (1 << 22))`, operation for operation: the weights
                // are never negative, so truncating after adding ½ rounds them.
                let normalized = total == 0 ? exact[i - start] : exact[i - start] / total
                weights[slot * taps + i - shifted] = Int32(normalized * Double(1 << Self.precisionBits) + 0.5)
            }
        }
        self.starts = starts
        self.weights = weights
        self.taps = taps
    }
}
