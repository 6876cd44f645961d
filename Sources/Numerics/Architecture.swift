/// Non-linearity applied after every hidden layer. The output layer is always softmax.
public enum Activation: String, CaseIterable, Sendable, Codable {
    case sigmoid
    case relu
    case leakyRelu = "leaky-relu"

    /// Slope of LeakyReLU for negative inputs.
    public static let leakySlope: Float = 0.01
}

/// Loss on the softmax output `p` against the one-hot target `t`, per sample:
/// cross-entropy `-log p[label]`, or MSE `½ Σⱼ (pⱼ − tⱼ)²`. Batches average it.
public enum Loss: String, CaseIterable, Sendable, Codable {
    case crossEntropy = "cross-entropy"
    case mse
}

/// The shape of a multilayer perceptron: `inputs → hidden… → outputs`.
///
/// Parameters live in one contiguous `[Float]` in layer order `W1, b1, W2, b2, …`, where
/// `Wl` is `(fan_in, fan_out)` row-major (row `i` holds the weights leaving input `i`) and `bl`
/// has `fan_out` entries. Checkpoints store exactly this array, little-endian.
public struct Architecture: Equatable, Sendable {
    public var layerSizes: [Int]
    public var activation: Activation
    public var loss: Loss

    public init(
        inputs: Int = 784, hidden: [Int] = [100], outputs: Int = 10,
        activation: Activation = .sigmoid, loss: Loss = .crossEntropy
    ) {
        precondition(inputs > 0 && outputs > 0 && hidden.allSatisfy { $0 > 0 })
        layerSizes = [inputs] + hidden + [outputs]
        self.activation = activation
        self.loss = loss
    }

    public var inputs: Int { layerSizes[0] }
    public var outputs: Int { layerSizes[layerSizes.count - 1] }
    public var hidden: [Int] { Array(layerSizes.dropFirst().dropLast()) }
    public var layerCount: Int { layerSizes.count - 1 }

    /// Where layer `l`'s weights and biases sit in the flat parameter array.
    public func layout(ofLayer l: Int) -> LayerLayout {
        var offset = 0
        for k in 0..<l { offset += (layerSizes[k] + 1) * layerSizes[k + 1] }
        return LayerLayout(
            fanIn: layerSizes[l], fanOut: layerSizes[l + 1],
            weightOffset: offset, biasOffset: offset + layerSizes[l] * layerSizes[l + 1])
    }

    public var parameterCount: Int {
        (0..<layerCount).reduce(0) { $0 + (layerSizes[$1] + 1) * layerSizes[$1 + 1] }
    }

    /// The seed's initialisation: weights uniform in [−0.5, 0.5), biases 0, from stream 0.
    public func initialParameters(seed: UInt64) -> [Float] {
        var generator = SplitMix64(seed: seed, stream: 0)
        var parameters = [Float](repeating: 0, count: parameterCount)
        for l in 0..<layerCount {
            let layer = layout(ofLayer: l)
            for i in layer.weightOffset..<layer.biasOffset {
                parameters[i] = generator.nextUnitFloat() - 0.5
            }
        }
        return parameters
    }
}

public struct LayerLayout: Equatable, Sendable {
    public var fanIn: Int
    public var fanOut: Int
    public var weightOffset: Int
    public var biasOffset: Int
    public var weightCount: Int { fanIn * fanOut }
}
