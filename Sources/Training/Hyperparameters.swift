import Numerics

/// Everything that decides what a run computes, as recorded in the `runs` table.
public struct Hyperparameters: Equatable, Sendable {
    public var hidden: [Int] = [100]
    public var activation: Activation = .sigmoid
    public var loss: Loss = .crossEntropy
    public var learningRate: Double = 0.1
    public var batchSize: Int = 200
    public var momentum: Double = 0
    /// The planned last epoch (a total, also when resuming).
    public var epochs: Int = 1000
    public var seed: UInt64 = 1

    public init() {}

    public func architecture(inputs: Int, outputs: Int) -> Architecture {
        Architecture(
            inputs: inputs, hidden: hidden, outputs: outputs, activation: activation, loss: loss)
    }

    /// `hidden` as the `runs.hidden` column writes it: "100" or "256,128".
    public var hiddenDescription: String { hidden.map(String.init).joined(separator: ",") }

    /// Parses "100" or "256,128"; nil when any width is not a positive integer.
    public static func parseHidden(_ text: String) -> [Int]? {
        let widths = text.split(separator: ",", omittingEmptySubsequences: false).map {
            Int($0.trimmingCharacters(in: " "))
        }
        guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return widths.map { $0! }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> Substring {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return s
    }
}
