import CKernels
import Testing

@testable import Numerics

/// The naive twins in ReferenceKernels.swift of what only the C MLP step computes (the hidden
/// activations forward and backward, softmax with cross-entropy or MSE), against that step on
/// every kernel path this CPU has. Each twin is given exactly what the C code had at that point
/// (the outputs of the path's own linear kernels), so a difference is the twin's alone. Both
/// sides then do the same float operations in the same order, so they must agree bit for bit,
/// except the sigmoid, whose C exp is a polynomial (≤ 2 ulp) and the twin's libm `expf`.
@Suite(.timeLimit(.minutes(10)))
struct ReferenceKernelsTests {
    /// 13 samples (a block of 8 and a ragged 5), odd widths, MNIST's 10 classes.
    static let (B, I, H, O) = (13, 37, 19, 10)

    @Test(arguments: Activation.allCases, Loss.allCases)
    func activationSoftmaxAndLossTwinsMatchTheMLPStep(activation: Activation, loss: Loss) {
        // Given a batch (rows repeated, out of order), and second-layer weights large enough
        // for logits far apart; the hidden pre-activations take both signs
        let (B, I, H, O) = (Self.B, Self.I, Self.H, Self.O)
        let (x, labels) = randomBatch(rows: 20, columns: I, classes: O, seed: 21)
        let rows: [Int32] = [3, 17, 0, 9, 9, 12, 5, 19, 1, 8, 14, 2, 11]
        var random = SplitMix64(seed: 22)
        let w1 = randomFloats(I * H, &random)
        let b1 = randomFloats(H, &random)
        let w2 = randomFloats(H * O, &random).map { $0 * 8 }
        let b2 = randomFloats(O, &random)
        let w2t = (0..<O * H).map { w2[($0 % H) * O + $0 / H] }  // (O, H)
        let scale = 1 / Float(B)

        for k in KernelTests.paths {
            let path = String(cString: k.pointee.name)

            // When the C step runs forward with a gradient on this path
            let step = mlpForward(
                k, sizes: [I, H, O], activation: activation, loss: loss,
                parameters: w1 + b1 + w2 + b2, x: x, rows: rows, labels: labels)

            // Then the hidden activation is the twin's, applied to the path's linear output
            var hidden = [Float](repeating: .nan, count: B * H)
            withCSR(x) { csr in
                k.pointee.sparse_linear_forward(&hidden, csr, rows, Int32(B), w1, b1, Int32(H))
            }
            #expect(hidden.contains { $0 < 0 } && hidden.contains { $0 > 0 })
            activationForwardNaive(&hidden, activation)
            let what = "\(path) \(activation) \(loss)"
            if activation == .sigmoid {
                expectWithinULPs(step.act[0], hidden, 4, "sigmoid forward, \(what)")
            } else {
                #expect(differingBits(step.act[0], hidden) == 0, "forward, \(what)")
            }

            // And softmax, loss and dLoss/dlogits are the twin's, from the path's logits
            var probabilities = [Float](repeating: .nan, count: B * O)
            k.pointee.linear_forward(
                &probabilities, step.act[0], w2, b2, Int32(B), Int32(H), Int32(O))
            var dlogits = [Float](repeating: .nan, count: B * O)
            let total = softmaxLossNaive(
                probs: &probabilities, dlogits: &dlogits, labels: rows.map { Int(labels[Int($0)]) },
                loss: loss, scale: scale, B: B, O: O)
            #expect(differingBits(step.act[1], probabilities) == 0, "softmax, \(what)")
            #expect(differingBits(step.delta[1], dlogits) == 0, "dlogits, \(what)")
            #expect(step.loss.allSatisfy { $0.isFinite })
            #expect(step.loss.reduce(0.0) { $0 + Double($1) } == total, "loss, \(what)")

            // And the hidden delta is the twin's backward, from the path's input gradient
            var dhidden = [Float](repeating: .nan, count: B * H)
            k.pointee.linear_backward_input(
                &dhidden, step.delta[1], w2t, Int32(B), Int32(H), Int32(O))
            activationBackwardNaive(&dhidden, a: step.act[0], activation)
            #expect(differingBits(step.delta[0], dhidden) == 0, "backward, \(what)")
        }
    }

    @Test func sigmoidTwinMatchesEveryPathOverTheWholeRange() {
        // Given inputs across the range, the clamps, ±0 and ±∞
        var random = SplitMix64(seed: 6)
        var z = (0..<4099).map { _ in (random.nextUnitFloat() - 0.5) * 60 }
        z += [0, -0, 1e-8, -1e-8, 87, -87, 88, -88, 89, -89, 100, -100, .infinity, -.infinity]
        var naive = z
        activationForwardNaive(&naive, .sigmoid)

        // Then every path is within 4 ulp of the twin (or both are below 1e-37)
        for k in KernelTests.paths {
            var x = z
            k.pointee.sigmoid_forward(&x, Int32(x.count))
            expectWithinULPs(x, naive, 4, "sigmoid \(String(cString: k.pointee.name))")
        }
    }
}

// MARK: - Helpers

/// Every element within `ulps` units in the last place of `expected` (or both below 1e-37,
/// where a flushed tail is 0 on one side and subnormal on the other); a NaN fails.
func expectWithinULPs(_ actual: [Float], _ expected: [Float], _ ulps: Float, _ what: String) {
    #expect(actual.count == expected.count)
    let worst = largest(
        zip(actual, expected).map { a, e -> Float in
            let error = abs(a - e)
            return error < 1e-37 ? 0 : error / e.ulp
        })
    #expect(worst <= ulps, "\(what): \(worst) ulp")
}

/// One forward pass with gradient of the C MLP step (`mnl_mlp_forward`) on path `k`, one
/// thread, with every output buffer starting as NaN: the activations and deltas of each
/// layer and the per-sample losses.
func mlpForward(
    _ k: UnsafePointer<mnl_kernels>, sizes: [Int], activation: Activation, loss: Loss,
    parameters: [Float], x: SparseRows, rows: [Int32], labels: [UInt8]
) -> (act: [[Float]], delta: [[Float]], loss: [Float]) {
    let B = rows.count
    let L = sizes.count - 1
    var allocated: [UnsafeMutableBufferPointer<Float>] = []
    defer { allocated.forEach { $0.deallocate() } }
    func buffer(_ count: Int, _ value: Float) -> UnsafeMutableBufferPointer<Float> {
        let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
        b.initialize(repeating: value)
        allocated.append(b)
        return b
    }
    let params = buffer(parameters.count, 0)
    _ = params.update(fromContentsOf: parameters)
    let act = (0..<L).map { buffer(B * sizes[$0 + 1], .nan) }
    let delta = (0..<L).map { buffer(B * sizes[$0 + 1], .nan) }
    let actPointers = act.map { Optional($0.baseAddress!) }
    let deltaPointers = delta.map { Optional($0.baseAddress!) }
    let scratch = UnsafeMutableRawPointer.allocate(
        byteCount: Int(mnl_mlp_scratch_bytes(Int32(B), Int32(sizes[0]))), alignment: 64)
    defer { scratch.deallocate() }
    let sizes32 = sizes.map { Int32($0) }
    var losses = [Float](repeating: .nan, count: B)
    var predicted = [Int32](repeating: -1, count: B)

    var net = mnl_mlp()  // fields not set here stay zero
    net.kernels = k
    net.threads = 1
    net.layers = Int32(L)
    net.activation = activation.kernelCode
    net.leaky_slope = Activation.leakySlope
    net.loss = loss.kernelCode
    net.params = params.baseAddress
    net.grad = buffer(parameters.count, 0).baseAddress
    net.velocity = buffer(parameters.count, 0).baseAddress
    net.weight_t = buffer((1..<L).reduce(0) { $0 + sizes[$1] * sizes[$1 + 1] }, .nan).baseAddress
    net.scratch = scratch
    sizes32.withUnsafeBufferPointer { s in
        actPointers.withUnsafeBufferPointer { a in
            deltaPointers.withUnsafeBufferPointer { d in
                net.sizes = s.baseAddress
                net.act = a.baseAddress
                net.delta = d.baseAddress
                withCSR(x) { csr in
                    mnl_mlp_forward(&net, csr, rows, Int32(B), labels, 1, &losses, &predicted)
                }
            }
        }
    }
    return (act.map { Array($0) }, delta.map { Array($0) }, losses)
}
