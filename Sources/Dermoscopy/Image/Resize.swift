/// Antialiased resizing for model input: a separable two-pass filter (rows, then columns) with
/// Pillow's `BILINEAR` weights and 22-bit fixed-point arithmetic, so the output equals Pillow's
/// `resize(..., BILINEAR, reducing_gap=None)` exactly (the torchvision `Resize` default).
public enum Resize {
    /// Resizes to exactly `width` × `height`, ignoring aspect ratio.
    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        precondition(width > 0 && height > 0, "resize to \(width)×\(height)")
        return resample(image, width: width, height: height, columns: 0..<width, rows: 0..<height)
    }

    /// torchvision's `Resize(size)` then `CenterCrop(size)`: the shorter side becomes `size`
    /// (the longer one `Int(size × long / short)`, truncated), then the centred `size` × `size`
    /// square is kept, its offset rounded half to even like Python's `round`. Only the kept
    /// square is computed.
    public static func shorterSideThenCenterCrop(_ image: RGBImage, size: Int) -> RGBImage {
        precondition(size > 0, "crop size \(size)")
        let w = image.width, h = image.height
        let (width, height) = w <= h ? (size, Int(Double(size * h) / Double(w)))
                                     : (Int(Double(size * w) / Double(h)), size)
        let left = Int((Double(width - size) / 2).rounded(.toNearestOrEven))
        let top = Int((Double(height - size) / 2).rounded(.toNearestOrEven))
        return resample(image, width: width, height: height, columns: left..<(left + size), rows: top..<(top + size))
    }

    /// The `columns` × `rows` window of `image` resized to `width` × `height`. Like Pillow, the
    /// horizontal pass runs first, only over the input rows the vertical pass will read, and
    /// its output is rounded to 8 bits in between.
    private static func resample(_ image: RGBImage, width: Int, height: Int, columns: Range<Int>, rows: Range<Int>) -> RGBImage {
        let horizontal = ResampleWeights(input: image.width, output: width, range: columns)
        let vertical = ResampleWeights(input: image.height, output: height, range: rows)
        let firstRow = vertical.starts[0]
        let rowCount = vertical.starts[rows.count - 1] + vertical.taps - firstRow
        let rowLength = columns.count * 3
        let stripe = image.pixels.withUnsafeBufferPointer { source in
            [UInt8](unsafeUninitializedCapacity: rowCount * rowLength) { stripe, count in
                for row in 0..<rowCount {
                    let input = source.baseAddress! + (firstRow + row) * image.width * 3
                    filterRow(input, into: stripe.baseAddress! + row * rowLength, horizontal)
                }
                count = rowCount * rowLength
            }
        }
        let pixels = stripe.withUnsafeBufferPointer { stripe in
            [UInt8](unsafeUninitializedCapacity: rows.count * rowLength) { output, count in
                filterColumns(stripe.baseAddress!, firstRow: firstRow, rowLength: rowLength,
                              into: output.baseAddress!, vertical)
                count = rows.count * rowLength
            }
        }
        return RGBImage(width: columns.count, height: rows.count, pixels: pixels)
    }

    /// Starting value of every sum: ½ in fixed point, so the final shift rounds.
    private static let half = Int32(1) << (ResampleWeights.precisionBits - 1)

    /// Back to 8 bits, clamping like Pillow's `clip8`.
    @inline(__always)
    private static func clip(_ sum: Int32) -> UInt8 {
        UInt8(clamping: sum >> ResampleWeights.precisionBits)
    }

    /// One output row of the horizontal pass: each output pixel is a weighted sum of `taps`
    /// neighbouring input pixels, all three channels at once.
    private static func filterRow(_ input: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<UInt8>,
                                  _ weights: ResampleWeights) {
        let taps = weights.taps
        weights.starts.withUnsafeBufferPointer { starts in
            weights.weights.withUnsafeBufferPointer { kernel in
                var k = kernel.baseAddress!
                var out = output
                for start in starts {
                    var pixel = input + start &* 3
                    var r = half, g = half, b = half
                    for _ in 0..<taps {
                        let w = k.pointee
                        r &+= Int32(pixel[0]) &* w
                        g &+= Int32(pixel[1]) &* w
                        b &+= Int32(pixel[2]) &* w
                        pixel += 3
                        k += 1
                    }
                    out[0] = clip(r)
                    out[1] = clip(g)
                    out[2] = clip(b)
                    out += 3
                }
            }
        }
    }

    /// The vertical pass: each output row is a weighted sum of `taps` rows of the horizontal
    /// pass's output (`stripe`, which starts at input row `firstRow`), accumulated one input row
    /// at a time so the inner loop runs along contiguous memory.
    private static func filterColumns(_ stripe: UnsafePointer<UInt8>, firstRow: Int, rowLength: Int,
                                      into output: UnsafeMutablePointer<UInt8>, _ weights: ResampleWeights) {
        let sums = UnsafeMutablePointer<Int32>.allocate(capacity: rowLength)
        defer { sums.deallocate() }
        for (y, start) in weights.starts.enumerated() {
            sums.initialize(repeating: half, count: rowLength)
            for t in 0..<weights.taps {
                let k = weights.weights[y * weights.taps + t]
                let row = stripe + (start - firstRow + t) * rowLength
                for i in 0..<rowLength { sums[i] &+= Int32(row[i]) &* k }
            }
            let out = output + y * rowLength
            for i in 0..<rowLength { out[i] = clip(sums[i]) }
        }
    }
}
