import Foundation

@testable import Numerics

/// The network's loss computed in Double with the plainest possible loops: the reference the
/// gradient check differentiates numerically.
struct DoubleMLP {
    let architecture: Architecture
    let parameters: [Double]

    init(_ architecture: Architecture, _ parameters: [Double]) {
        self.architecture = architecture
        self.parameters = parameters
    }

    func meanLoss(_ inputs: SparseRows, _ labels: [UInt8]) -> Double {
        var total = 0.0
        for r in 0..<inputs.rowCount {
            let p = probabilities(inputs.denseRow(r).map(Double.init))
            let label = Int(labels[r])
            switch architecture.loss {
            case .crossEntropy: total -= log(p[label])
            case .mse:
                total += p.indices.map { pow(p[$0] - ($0 == label ? 1 : 0), 2) }.reduce(0, +) / 2
            }
        }
        return total / Double(inputs.rowCount)
    }

    func probabilities(_ input: [Double]) -> [Double] {
        var a = input
        for l in 0..<architecture.layerCount {
            let layer = architecture.layout(ofLayer: l)
            var z = (0..<layer.fanOut).map { parameters[layer.biasOffset + $0] }
            for i in 0..<layer.fanIn {
                for o in 0..<layer.fanOut {
                    z[o] += a[i] * parameters[layer.weightOffset + i * layer.fanOut + o]
                }
            }
            a = l == architecture.layerCount - 1 ? softmax(z) : z.map(activate)
        }
        return a
    }

    func activate(_ z: Double) -> Double {
        switch architecture.activation {
        case .sigmoid: 1 / (1 + exp(-z))
        case .relu: max(z, 0)
        case .leakyRelu: z > 0 ? z : Double(Activation.leakySlope) * z
        }
    }

    func softmax(_ z: [Double]) -> [Double] {
        let peak = z.max()!
        let e = z.map { exp($0 - peak) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }
}
