/// Straightforward loops that define what each op computes, written for clarity only.
enum Naive {
    static func conv2d(_ x: [Float], _ xs: [Int], _ w: [Float], _ ws: [Int], bias: [Float]?, stride: [Int],
                       padding: [Int], dilation: [Int], groups: Int, outSize: [Int]) -> [Float] {
        let (n, c, h, wd) = (xs[0], xs[1], xs[2], xs[3])
        let (o, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3])
        let og = o / groups
        var y = [Float](repeating: 0, count: n * o * outSize[0] * outSize[1])
        for b in 0..<n { for oc in 0..<o { for oy in 0..<outSize[0] { for ox in 0..<outSize[1] {
            let g = oc / og
            var sum = Double(bias?[oc] ?? 0)
            for ic in 0..<cg { for ky in 0..<kh { for kx in 0..<kw {
                let iy = oy * stride[0] - padding[0] + ky * dilation[0]
                let ix = ox * stride[1] - padding[1] + kx * dilation[1]
                guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                let xv = x[((b * c + g * cg + ic) * h + iy) * wd + ix]
                sum += Double(xv) * Double(w[((oc * cg + ic) * kh + ky) * kw + kx])
            } } }
            y[((b * o + oc) * outSize[0] + oy) * outSize[1] + ox] = Float(sum)
        } } } }
        return y
    }

    /// Per-channel normalisation with given statistics (batch or running).
    static func batchNorm(_ x: [Float], _ shape: [Int], mean: [Float], variance: [Float], gamma: [Float],
                          beta: [Float], epsilon: Float) -> [Float] {
        let c = shape[1]
        let inner = shape.count == 4 ? shape[2] * shape[3] : 1
        return x.indices.map { i in
            let ch = (i / inner) % c
            return (x[i] - mean[ch]) / (variance[ch] + epsilon).squareRoot() * gamma[ch] + beta[ch]
        }
    }

    /// Per-channel mean and biased variance over N (and H, W).
    static func statistics(_ x: [Float], _ shape: [Int]) -> (mean: [Float], variance: [Float]) {
        let c = shape[1]
        let inner = shape.count == 4 ? shape[2] * shape[3] : 1
        let perChannel = Double(x.count / c)
        var sum = [Double](repeating: 0, count: c), sq = [Double](repeating: 0, count: c)
        for i in x.indices { let ch = (i / inner) % c; sum[ch] += Double(x[i]); sq[ch] += Double(x[i]) * Double(x[i]) }
        let mean = sum.map { $0 / perChannel }
        return (mean.map(Float.init), zip(sq, mean).map { Float($0 / perChannel - $1 * $1) })
    }

    static func pool(_ x: [Float], _ xs: [Int], max isMax: Bool, includePadding: Bool, kernel: [Int], stride: [Int],
                     padding: [Int], outSize: [Int]) -> [Float] {
        let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3])
        var y: [Float] = []
        for b in 0..<n { for ch in 0..<c { for oy in 0..<outSize[0] { for ox in 0..<outSize[1] {
            var best = -Float.infinity, sum: Float = 0, count = 0
            for ky in 0..<kernel[0] { for kx in 0..<kernel[1] {
                let iy = oy * stride[0] - padding[0] + ky, ix = ox * stride[1] - padding[1] + kx
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                let v = x[((b * c + ch) * h + iy) * w + ix]
                best = max(best, v); sum += v; count += 1
            } }
            y.append(isMax ? best : sum / Float(includePadding ? kernel[0] * kernel[1] : count))
        } } } }
        return y
    }

    static func linear(_ x: [Float], n: Int, _ w: [Float], out: Int, inFeatures: Int, bias: [Float]?) -> [Float] {
        (0..<(n * out)).map { i in
            let (b, o) = (i / out, i % out)
            var s = Double(bias?[o] ?? 0)
            for j in 0..<inFeatures { s += Double(x[b * inFeatures + j]) * Double(w[o * inFeatures + j]) }
            return Float(s)
        }
    }
}
