import CKernels
import Foundation
import Testing

@testable import Numerics

/// Every CKernels path against the naive Swift twins (up to rounding), and every path against
/// the scalar one (bit for bit), on sizes with vector tails: 100 = 6·16 + 4 = 12·8 + 4.
@Suite(.timeLimit(.minutes(10)))
struct KernelTests {
    /// The paths this CPU can run, scalar first.
    static var paths: [UnsafePointer<mnl_kernels>] {
        let names: [String] = ["scalar", "avx2", "avx512"]
        return names.compactMap { mnl_kernels_named($0) }
    }
    static var scalar: UnsafePointer<mnl_kernels> { paths[0] }

    static let outputWidths = [1, 3, 8, 10, 16, 17, 31, 100, 113, 129, 256, 300]

    @Test func scalarPathIsAlwaysAvailable() {
        #expect(String(cString: Self.scalar.pointee.name) == "scalar")
        #expect(mnl_kernels_named("sse9") == nil)
        #expect(mnl_set_kernel_path("sse9") == -1)
    }

    // MARK: - Sparse first layer

    @Test(arguments: outputWidths)
    func sparseLinearForwardMatchesNaiveAndPathsAgree(O: Int) {
        // Given a batch of sparse rows in a shuffled order, weights and a bias
        var random = SplitMix64(seed: UInt64(O))
        let (x, _) = randomBatch(rows: 9, columns: 37, seed: UInt64(O))
        let rows: [Int32] = [4, 0, 8, 8, 2, 7, 1]
        let weight = randomFloats(37 * O, &random)
        let bias = randomFloats(O, &random)

        // When each path computes the layer
        let results = Self.paths.map { k in
            var out = [Float](repeating: .nan, count: rows.count * O)
            withCSR(x) { csr in
                k.pointee.sparse_linear_forward(
                    &out, csr, rows, Int32(rows.count), weight, bias, Int32(O))
            }
            return out
        }

        // Then scalar matches the naive twin and every path matches scalar exactly
        var naive = [Float](repeating: 0, count: rows.count * O)
        sparseLinearForwardNaive(out: &naive, x: x, rows: rows, weight: weight, bias: bias, O: O)
        expectClose(results[0], naive, "sparse forward O=\(O)")
        expectPathsAgree(results, "sparse forward O=\(O)")
    }

    @Test(arguments: outputWidths)
    func sparseLinearBackwardWeightMatchesNaiveAndPathsAgree(O: Int) {
        var random = SplitMix64(seed: UInt64(O) + 100)
        let (x, _) = randomBatch(rows: 9, columns: 37, seed: UInt64(O) + 7)
        // 13 samples: a full group of 8 and a ragged one of 5, rows repeated
        let rows: [Int32] = [3, 3, 0, 8, 5, 6, 1, 2, 7, 4, 4, 0, 8]
        let dout = randomFloats(rows.count * O, &random)

        // The batch regrouped by column, as the MLP's forward pass builds it: group by group
        let B = Int32(rows.count)
        let buffer = UnsafeMutableRawPointer.allocate(
            byteCount: Int(mnl_columns_bytes(B, 37)), alignment: 64)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0xFF, count: Int(mnl_columns_bytes(B, 37)))
        let columns = mnl_columns_in(buffer, B, 37)
        withCSR(x) { csr in
            for g in 0..<Int(columns.groups) {
                let n = min(Int(MNL_GROUP), rows.count - g * Int(MNL_GROUP))
                rows.withUnsafeBufferPointer { r in
                    mnl_columns_fill(columns, Int32(g), csr, r.baseAddress! + g * Int(MNL_GROUP), Int32(n))
                }
            }
        }

        // Each path in three column ranges of odd and even widths, as chunks split the rows of
        // dweight; the kernel overwrites its rows, so they start as NaN
        let ranges = [(0, 15), (15, 22), (22, 37)]
        let results = Self.paths.map { k in
            var dweight = [Float](repeating: .nan, count: 37 * O)
            for (c0, c1) in ranges {
                k.pointee.sparse_linear_backward_weight(
                    &dweight, columns, dout, Int32(O), Int32(c0), Int32(c1))
            }
            return dweight
        }

        var naive = [Float](repeating: 0, count: 37 * O)
        sparseLinearBackwardWeightNaive(dweight: &naive, x: x, rows: rows, dout: dout, O: O)
        expectClose(results[0], naive, "sparse dW O=\(O)")
        expectPathsAgree(results, "sparse dW O=\(O)")
    }

    // MARK: - Dense layers

    static let denseShapes: [(B: Int, I: Int, O: Int)] = [
        (1, 1, 1), (5, 7, 3), (13, 100, 10), (7, 33, 17), (9, 10, 100), (6, 256, 128),
        (11, 300, 300), (4, 65, 129),
    ]

    @Test(arguments: 0..<denseShapes.count)
    func linearKernelsMatchNaiveAndPathsAgree(shape: Int) {
        let (B, I, O) = Self.denseShapes[shape]
        var random = SplitMix64(seed: UInt64(shape) + 1000)
        let inp = randomFloats(B * I, &random)
        let weight = randomFloats(I * O, &random)
        let bias = randomFloats(O, &random)
        let dout = randomFloats(B * O, &random)
        let weightT = (0..<O * I).map { weight[($0 % I) * O + $0 / I] }
        let split = I / 3

        var forward: [[Float]] = []
        var dweights: [[Float]] = []
        var dinps: [[Float]] = []
        for k in Self.paths {
            var out = [Float](repeating: .nan, count: B * O)
            k.pointee.linear_forward(&out, inp, weight, bias, Int32(B), Int32(I), Int32(O))
            forward.append(out)
            var dweight = [Float](repeating: .nan, count: I * O)  // overwritten
            for (i0, i1) in [(0, split), (split, I)] {
                k.pointee.linear_backward_weight(
                    &dweight, inp, dout, Int32(B), Int32(I), Int32(O), Int32(i0), Int32(i1))
            }
            dweights.append(dweight)
            var dinp = [Float](repeating: .nan, count: B * I)
            k.pointee.linear_backward_input(&dinp, dout, weightT, Int32(B), Int32(I), Int32(O))
            dinps.append(dinp)
        }

        var naiveOut = [Float](repeating: 0, count: B * O)
        linearForwardNaive(
            out: &naiveOut, inp: inp, weight: weight, bias: bias, B: B, I: I, O: O)
        var naiveDinp: [Float]? = [Float](repeating: 0, count: B * I)
        var naiveDweight = [Float](repeating: 0, count: I * O)
        var naiveDbias = [Float](repeating: 0, count: O)
        linearBackwardNaive(
            dinp: &naiveDinp, dweight: &naiveDweight, dbias: &naiveDbias, dout: dout, inp: inp,
            weight: weight, B: B, I: I, O: O)
        let name = "B=\(B) I=\(I) O=\(O)"
        expectClose(forward[0], naiveOut, "forward \(name)")
        expectClose(dweights[0], naiveDweight, "dW \(name)")
        expectClose(dinps[0], naiveDinp!, "dinp \(name)")
        expectPathsAgree(forward, "forward \(name)")
        expectPathsAgree(dweights, "dW \(name)")
        expectPathsAgree(dinps, "dinp \(name)")

        let dbiases = Self.paths.map { k in
            var dbias = [Float](repeating: 0, count: O)
            k.pointee.bias_backward(&dbias, dout, Int32(B), Int32(O), 0, Int32(O / 2))
            k.pointee.bias_backward(&dbias, dout, Int32(B), Int32(O), Int32(O / 2), Int32(O))
            return dbias
        }
        expectClose(dbiases[0], naiveDbias, "db \(name)")
        expectPathsAgree(dbiases, "db \(name)")
    }

    // MARK: - Sigmoid

    @Test func sigmoidIsAccurateAndPathsAgree() {
        // Given inputs across the whole range, the clamps, ±0, ±∞ and NaN, in an odd count
        var random = SplitMix64(seed: 5)
        var z = (0..<4099).map { _ in (random.nextUnitFloat() - 0.5) * 60 }
        z += [0, -0, 1e-8, -1e-8, 87, -87, 88, -88, 89, -89, 100, -100, .infinity, -.infinity]
        z += [.nan, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0x1p-149]

        // When every path applies it
        let results = Self.paths.map { k in
            var x = z
            k.pointee.sigmoid_forward(&x, Int32(x.count))
            return x
        }

        // Then paths agree bit for bit, NaN propagates, and the error is a few ulp at most
        expectPathsAgree(results, "sigmoid", allowingNaN: true)
        let scalar = results[0]
        for (input, output) in zip(z, scalar) {
            if input.isNaN {
                #expect(output.isNaN)
                continue
            }
            let exact = 1 / (1 + exp(-Double(input)))
            let ulp = Double(Float(exact).ulp)
            let error = abs(Double(output) - exact)
            #expect(error <= 2 * ulp || error < 1e-37, "sigmoid(\(input)) = \(output), exact \(exact)")
        }
        #expect(scalar.allSatisfy { $0.isNaN || (0...1).contains($0) })

        let derivatives = Self.paths.map { k in
            var d = z.map { $0.isNaN ? 1 : $0 }
            k.pointee.sigmoid_backward(&d, scalar, Int32(d.count))
            return d
        }
        expectPathsAgree(derivatives, "sigmoid backward", allowingNaN: true)
    }

    // MARK: - SGD

    @Test(arguments: [Float(0), 0.9])
    func sgdUpdateMatchesNaiveAndPathsAgree(momentum: Float) {
        var random = SplitMix64(seed: 77)
        let p = randomFloats(1001, &random)
        let v = randomFloats(1001, &random)
        let g = randomFloats(1001, &random)
        let results = Self.paths.map { k in
            var (pk, vk) = (p, v)
            k.pointee.sgd_update(&pk, &vk, g, Int32(p.count), 0.1, momentum)
            return pk + vk
        }
        var (pn, vn) = (p, v)
        sgdUpdateNaive(
            parameters: &pn, velocity: &vn, gradient: g, learningRate: 0.1, momentum: momentum)
        #expect(differingBits(results[0], pn + vn) == 0)
        expectPathsAgree(results, "sgd μ=\(momentum)")
    }
}

// MARK: - Helpers

func randomFloats(_ count: Int, _ random: inout SplitMix64) -> [Float] {
    (0..<count).map { _ in random.nextUnitFloat() - 0.5 }
}
