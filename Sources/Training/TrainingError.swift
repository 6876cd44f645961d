/// Why a session, a checkpoint load or an evaluation cannot go on. The cases carry the facts;
/// `description` is a plain sentence that names no command or flag, which the CLI adds.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    case unknownRun(Int64)
    /// The run recorded no epoch, so it has no checkpoint of its own.
    case noRecordedEpoch(runID: Int64)
    /// The run never reached `epoch`.
    case noSuchEpoch(runID: Int64, epoch: Int, lastEpoch: Int)
    /// `epoch` was recorded but its checkpoint was not kept; `kept` lists those that were.
    case noCheckpoint(runID: Int64, epoch: Int, kept: [Int])
    /// Training would start after `epoch`, which is already at or past the planned last one.
    case nothingAfter(runID: Int64, epoch: Int, planned: Int)
    /// The run's row names an architecture this build cannot rebuild.
    case unknownArchitecture(runID: Int64, hidden: String, activation: String, loss: String)
    /// A checkpoint whose size fits no network with the run's hidden layers.
    case checkpointShape(runID: Int64, epoch: Int, parameterCount: Int, hidden: String)
    /// The dataset found is not the one the run trained on.
    case otherDataset(directory: String, checksum: String, runID: Int64, expected: String)
    /// Test images of another width than the run's network takes.
    case imageWidth(runID: Int64, inputs: Int, columns: Int)
    /// The run's row names a learning-rate schedule this build cannot read.
    case unknownSchedule(runID: Int64, schedule: String)
    /// A schedule that moves the rate towards its minimum needs the minimum below the rate.
    case scheduleFloorAboveRate(minimum: Double, learningRate: Double, schedule: String)
    /// A mini-batch larger than the training set: every epoch would be one smaller batch.
    case batchLargerThanTrainingSet(batchSize: Int, images: Int)
    /// A minimum improvement for early stopping on a run that does not stop early: the run
    /// resumed, nil for a new one (`Hyperparameters.requirePatience`).
    case minDeltaWithoutPatience(runID: Int64?)

    public var description: String {
        switch self {
        case .unknownRun(let id):
            "There is no run \(id) in this database."
        case .noRecordedEpoch(let id):
            "Run \(id) has no recorded epoch, so it has no checkpoint of its own."
        case .noSuchEpoch(let id, let epoch, let last):
            "Run \(id) has no epoch \(epoch); its last recorded epoch is \(last)."
        case .noCheckpoint(let id, let epoch, let kept):
            "Run \(id) kept no checkpoint at epoch \(epoch); epochs with a checkpoint: "
                + "\(kept.map(String.init).joined(separator: ", "))."
        case .nothingAfter(let id, let epoch, let planned):
            "Run \(id) would train after epoch \(epoch), but its planned last epoch is "
                + "\(planned)."
        case .unknownArchitecture(let id, let hidden, let activation, let loss):
            "Run \(id) records an architecture this build cannot rebuild (hidden '\(hidden)', "
                + "\(activation), \(loss))."
        case .checkpointShape(let id, let epoch, let count, let hidden):
            "Run \(id)'s checkpoint at epoch \(epoch) has \(count) parameters, which fits no "
                + "network with hidden layers \(hidden)."
        case .otherDataset(let directory, let checksum, let id, let expected):
            "The dataset in \(directory) (\(checksum)) is not the one run \(id) trained on "
                + "(\(expected))."
        case .imageWidth(let id, let inputs, let columns):
            "Run \(id) takes \(inputs)-pixel images, but the test images have \(columns)."
        case .unknownSchedule(let id, let schedule):
            "Run \(id) records a learning-rate schedule this build cannot read ('\(schedule)')."
        case .scheduleFloorAboveRate(let minimum, let rate, let schedule):
            "The minimum learning rate (\(minimum)) must be below the learning rate (\(rate)) "
                + "for a \(schedule) schedule."
        case .batchLargerThanTrainingSet(let batchSize, let images):
            "A batch of \(batchSize) examples is larger than the \(images) training images, so "
                + "every epoch would be one batch of \(images)."
        case .minDeltaWithoutPatience(let id):
            "A minimum improvement only counts for early stopping, which \(id.map { "run \($0)" } ?? "these settings") \(id == nil ? "do" : "does") not use."
        }
    }
}
