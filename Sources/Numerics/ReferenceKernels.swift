#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

// Reference kernels: plain loops over Swift arrays, written for the reader, not for speed.
// The tuned kernels (CKernels, called through `Network`) must match these up to rounding,
// and the tests pin them together.
//
// Layout: fp32, row-major. B = batch size, I = inputs of a layer, O = outputs of a layer.
// `weight` is (I, O): row i holds the weights leaving input i. Gradients start with `d`;
// backward kernels `+=` into buffers the caller zeroes.

// MARK: - Linear

/// out (B, O) = inp (B, I) · weight (I, O) + bias (O)
public func linearForwardNaive(
    out: inout [Float], inp: [Float], weight: [Float], bias: [Float], B: Int, I: Int, O: Int
) {
    for b in 0..<B {
        for o in 0..<O {
            var sum = bias[o]
            for i in 0..<I { sum += inp[b * I + i] * weight[i * O + o] }
            out[b * O + o] = sum
        }
    }
}

/// dweight (I, O) += inpᵀ · dout;  dbias (O) += Σ_b dout;  dinp (B, I) = dout · weightᵀ
/// (dinp is skipped for the first layer, whose input needs no gradient).
public func linearBackwardNaive(
    dinp: inout [Float]?, dweight: inout [Float], dbias: inout [Float],
    dout: [Float], inp: [Float], weight: [Float], B: Int, I: Int, O: Int
) {
    for b in 0..<B {
        for o in 0..<O {
            let d = dout[b * O + o]
            dbias[o] += d
            for i in 0..<I { dweight[i * O + o] += inp[b * I + i] * d }
        }
    }
    guard dinp != nil else { return }
    for b in 0..<B {
        for i in 0..<I {
            var sum: Float = 0
            for o in 0..<O { sum += dout[b * O + o] * weight[i * O + o] }
            dinp![b * I + i] = sum
        }
    }
}

// MARK: - Activations

/// Applies the activation in place; `activationBackward` needs only its output `a`.
public func activationForwardNaive(_ x: inout [Float], _ activation: Activation) {
    for k in x.indices {
        switch activation {
        case .sigmoid: x[k] = 1 / (1 + expf(-x[k]))
        case .relu: x[k] = max(x[k], 0)
        case .leakyRelu: x[k] = x[k] > 0 ? x[k] : Activation.leakySlope * x[k]
        }
    }
}

/// d (in place) *= f'(z), written with a = f(z): sigmoid a(1 − a); (leaky) ReLU by the sign of a.
public func activationBackwardNaive(_ d: inout [Float], a: [Float], _ activation: Activation) {
    for k in d.indices {
        switch activation {
        case .sigmoid: d[k] *= a[k] * (1 - a[k])
        case .relu: d[k] = a[k] > 0 ? d[k] : 0
        case .leakyRelu: d[k] = a[k] > 0 ? d[k] : Activation.leakySlope * d[k]
        }
    }
}

// MARK: - Softmax and loss

/// Replaces each row of logits (B, O) by its softmax and returns the summed loss.
/// `dlogits` gets dLoss/dlogits scaled by `scale` (1/B for the batch mean).
public func softmaxLossNaive(
    probs: inout [Float], dlogits: inout [Float], labels: [Int], loss: Loss, scale: Float,
    B: Int, O: Int
) -> Double {
    var total = 0.0
    for b in 0..<B {
        let row = b * O
        let peak = probs[row..<row + O].max()!
        var sum: Float = 0
        for o in 0..<O {
            probs[row + o] = expf(probs[row + o] - peak)
            sum += probs[row + o]
        }
        for o in 0..<O { probs[row + o] /= sum }
        let p = Array(probs[row..<row + O])
        let t = (0..<O).map { $0 == labels[b] ? Float(1) : 0 }
        switch loss {
        case .crossEntropy:
            total -= Double(logf(max(p[labels[b]], .leastNormalMagnitude)))
            for o in 0..<O { dlogits[row + o] = (p[o] - t[o]) * scale }
        case .mse:
            // dL/dz_i = p_i (e_i − Σ_j e_j p_j) with e = p − t, through the softmax Jacobian.
            let e = (0..<O).map { p[$0] - t[$0] }
            let ep = (0..<O).reduce(Float(0)) { $0 + e[$1] * p[$1] }
            total += Double(e.reduce(Float(0)) { $0 + $1 * $1 } / 2)
            for o in 0..<O { dlogits[row + o] = p[o] * (e[o] - ep) * scale }
        }
    }
    return total
}

// MARK: - Sparse first layer

/// out (B, O) = bias + Σ value · weight[column, :] over the entries of row rows[b] of x: the
/// dense `linearForwardNaive` with the zero inputs left out.
public func sparseLinearForwardNaive(
    out: inout [Float], x: SparseRows, rows: [Int32], weight: [Float], bias: [Float], O: Int
) {
    for (b, r) in rows.enumerated() {
        for o in 0..<O {
            var sum = bias[o]
            for e in Int(x.rowStart[Int(r)])..<Int(x.rowStart[Int(r) + 1]) {
                sum += x.value[e] * weight[Int(x.column[e]) * O + o]
            }
            out[b * O + o] = sum
        }
    }
}

/// dweight (I, O) += xᵀ · dout over the batch, touching only the rows of nonzero inputs.
public func sparseLinearBackwardWeightNaive(
    dweight: inout [Float], x: SparseRows, rows: [Int32], dout: [Float], O: Int
) {
    for (b, r) in rows.enumerated() {
        for e in Int(x.rowStart[Int(r)])..<Int(x.rowStart[Int(r) + 1]) {
            for o in 0..<O { dweight[Int(x.column[e]) * O + o] += x.value[e] * dout[b * O + o] }
        }
    }
}

// MARK: - SGD

/// Plain SGD (`p −= lr·g`) or, with momentum μ ≠ 0, `v = μv + g; p −= lr·v`.
public func sgdUpdateNaive(
    parameters: inout [Float], velocity: inout [Float], gradient: [Float], learningRate: Float,
    momentum: Float
) {
    for k in parameters.indices {
        if momentum == 0 {
            parameters[k] -= learningRate * gradient[k]
        } else {
            velocity[k] = momentum * velocity[k] + gradient[k]
            parameters[k] -= learningRate * velocity[k]
        }
    }
}

/// `sgdUpdateNaive` with L2 weight decay: the gradient is g + decay·p.
public func sgdUpdateDecayedNaive(
    parameters: inout [Float], velocity: inout [Float], gradient: [Float], learningRate: Float,
    momentum: Float, decay: Float
) {
    for k in parameters.indices {
        let g = gradient[k] + decay * parameters[k]
        if momentum == 0 {
            parameters[k] -= learningRate * g
        } else {
            velocity[k] = momentum * velocity[k] + g
            parameters[k] -= learningRate * velocity[k]
        }
    }
}
