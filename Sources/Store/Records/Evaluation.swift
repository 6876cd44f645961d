/// A row of `evaluations` with its `confusion` cells: a checkpoint's test-set results.

/// How a run's weights after `epoch` did on the test set. Mirrors `evaluations`; `confusion`
/// holds the `confusion` table's cells for it, `confusion[trueLabel][predictedLabel]`.
public struct EvaluationRecord: Sendable, Equatable {
    public var runID: Int64
    public var epoch: Int
    public var datasetChecksum: String
    public var testSize: Int
    public var testLoss: Double
    /// Fraction 0...1.
    public var testAccuracy: Double
    /// 10×10 counts, rows = true label, columns = predicted label.
    public var confusion: [[Int]]
    /// Set by `Store.recordEvaluation`; nil on a record not yet stored.
    public var evaluatedAt: String?

    public init(
        runID: Int64, epoch: Int, datasetChecksum: String, testSize: Int, testLoss: Double,
        testAccuracy: Double, confusion: [[Int]], evaluatedAt: String? = nil
    ) {
        self.runID = runID
        self.epoch = epoch
        self.datasetChecksum = datasetChecksum
        self.testSize = testSize
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.confusion = confusion
        self.evaluatedAt = evaluatedAt
    }

    /// Correct / examples for each true label, nil for a label with no examples.
    public var classAccuracy: [Double?] {
        confusion.indices.map { label in
            let examples = confusion[label].reduce(0, +)
            return examples == 0 ? nil : Double(confusion[label][label]) / Double(examples)
        }
    }
}

// MARK: - Database

/// The stored form of an evaluation's summary; the cells are `ConfusionCell`s.
struct EvaluationRow: Codable {
    static let table = "evaluations"

    var runID: Int64
    var epoch: Int
    var datasetChecksum: String
    var testSize: Int
    var testLoss: Double
    var testAccuracy: Double
    var evaluatedAt: String

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case epoch
        case datasetChecksum = "dataset_checksum"
        case testSize = "test_size"
        case testLoss = "test_loss"
        case testAccuracy = "test_accuracy"
        case evaluatedAt = "evaluated_at"
    }
}

/// A row of `confusion`.
struct ConfusionCell: Codable {

    var runID: Int64
    var epoch: Int
    var trueLabel: Int
    var predictedLabel: Int
    var count: Int

    enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case epoch
        case trueLabel = "true_label"
        case predictedLabel = "predicted_label"
        case count
    }
}
