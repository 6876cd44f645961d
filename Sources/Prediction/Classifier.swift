import Numerics
import Store
import Training

/// What a checkpoint made of one image.
public struct DigitPrediction: Codable, Equatable, Sendable {
    /// The most probable class, as `evaluate` counts it.
    public var label: Int
    /// Softmax output for classes 0…9.
    public var probabilities: [Double]
    /// The epoch of the checkpoint that classified it.
    public var epoch: Int
}

extension LoadedCheckpoint {
    /// Classifies 28×28 images of 784 bytes each (0…255, white ink on black, as MNIST's and
    /// `DigitPreparation.prepare`'s), scaled to 0…1 as training read them.
    public func classify(_ images: [[UInt8]]) throws -> [DigitPrediction] {
        try DigitPrediction.classify(
            images, architecture: try architecture(), weights: checkpoint.weights, epoch: epoch,
            runID: run.id)
    }
}

extension DigitPrediction {
    /// Classifies images as `LoadedCheckpoint.classify` does, with parameters `weights` (laid
    /// out as `architecture` says) from epoch `epoch` of run `runID`.
    public static func classify(
        _ images: [[UInt8]], architecture: Architecture, weights: [Float], epoch: Int,
        runID: Int64
    ) throws -> [DigitPrediction] {
        let side = DigitPreparation.side
        guard architecture.inputs == side * side else {
            throw TrainingError.imageWidth(
                runID: runID, inputs: architecture.inputs, columns: side * side)
        }
        guard !images.isEmpty else { return [] }
        precondition(images.allSatisfy { $0.count == side * side }, "784 pixels per image")
        let dense = images.flatMap { $0.map { Float($0) / 255 } }
        let rows = SparseRows(dense: dense, rowCount: images.count, columnCount: side * side)
        let network = Network(
            architecture: architecture, parameters: weights,
            maxBatchSize: min(images.count, 500))
        return network.classify(rows).map {
            DigitPrediction(
                label: Int($0.label), probabilities: $0.probabilities.map(Double.init),
                epoch: epoch)
        }
    }
}
