/// A row of `runs`, and `NewRun`, what a caller supplies to create one.
import Foundation

/// One training run: its hyperparameters, provenance and lifecycle. Mirrors `runs`.
public struct Run: Codable, Sendable, Equatable {
    /// Lifecycle of a run; the values of `runs.status`.
    public enum Status: String, Codable, Sendable, CaseIterable {
        case running, completed, interrupted, failed
    }

    public var id: Int64
    public var name: String
    public var status: Status
    public var parentRunID: Int64?
    public var parentEpoch: Int?
    public var createdAt: String
    public var finishedAt: String?
    public var learningRate: Double
    public var batchSize: Int
    /// Planned total number of epochs.
    public var epochs: Int
    /// Hidden layer widths, e.g. "100" or "256,128".
    public var hidden: String
    public var activation: String
    public var loss: String
    public var momentum: Double
    public var seed: Int64
    public var trainSize: Int
    public var valSize: Int
    public var datasetPath: String
    public var datasetChecksum: String
    public var codeVersion: String
    public var kernelPath: String
    public var keepEvery: Int
    public var failureReason: String?
    public var pid: Int64?
    public var host: String?
    public var heartbeatAt: String?
    /// The sweep (`mnistlab sweep`) that started the run, nil otherwise.
    public var sweepID: Int64?
    /// The token of the process holding the run while it is running (see `Lease`).
    public var ownerToken: String? = nil
    /// When the holder's lease ends unless renewed, on the database's clock.
    public var leaseExpiresAt: String? = nil
    /// Early stopping: epochs without improvement before stopping; nil: off.
    public var patience: Int? = nil
    /// The decrease in validation loss that counts as an improvement for `patience`.
    public var minDelta: Double = 0
    /// "constant", "step:EVERY:FACTOR", "cosine" or "plateau:PATIENCE:FACTOR".
    public var lrSchedule: String = "constant"
    /// Floor of the step and plateau schedules, end point of cosine.
    public var minLearningRate: Double = 0
    /// L2 weight decay on the weights (not the biases), inside the SGD update.
    public var weightDecay: Double = 0
    /// Free text on why the run was started or what it showed (`Store.setNote`); nil: none.
    public var note: String? = nil
    /// The run's identity in every store (a UUID), kept when `import` copies it.
    public var uid: String? = nil

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, name, status
        case parentRunID = "parent_run_id"
        case parentEpoch = "parent_epoch"
        case createdAt = "created_at"
        case finishedAt = "finished_at"
        case learningRate = "learning_rate"
        case batchSize = "batch_size"
        case epochs, hidden, activation, loss, momentum, seed
        case trainSize = "train_size"
        case valSize = "val_size"
        case datasetPath = "dataset_path"
        case datasetChecksum = "dataset_checksum"
        case codeVersion = "code_version"
        case kernelPath = "kernel_path"
        case keepEvery = "keep_every"
        case failureReason = "failure_reason"
        case pid, host
        case heartbeatAt = "heartbeat_at"
        case sweepID = "sweep_id"
        case ownerToken = "owner_token"
        case leaseExpiresAt = "lease_expires_at"
        case patience
        case minDelta = "min_delta"
        case lrSchedule = "lr_schedule"
        case minLearningRate = "min_learning_rate"
        case weightDecay = "weight_decay"
        case note, uid
    }
}

// MARK: - Database

extension Run.Status: SQLDecodable {}

extension Run: RowDecodable {
    static let table = "runs"

    /// Read by hand, in the order of `CodingKeys` (see `RowDecodable`).
    init(row: SQLRow) throws {
        var c = ColumnReader<CodingKeys>(row)
        id = try c.read(.id)
        name = try c.read(.name)
        status = try c.read(.status)
        parentRunID = try c.read(.parentRunID)
        parentEpoch = try c.read(.parentEpoch)
        createdAt = try c.read(.createdAt)
        finishedAt = try c.read(.finishedAt)
        learningRate = try c.read(.learningRate)
        batchSize = try c.read(.batchSize)
        epochs = try c.read(.epochs)
        hidden = try c.read(.hidden)
        activation = try c.read(.activation)
        loss = try c.read(.loss)
        momentum = try c.read(.momentum)
        seed = try c.read(.seed)
        trainSize = try c.read(.trainSize)
        valSize = try c.read(.valSize)
        datasetPath = try c.read(.datasetPath)
        datasetChecksum = try c.read(.datasetChecksum)
        codeVersion = try c.read(.codeVersion)
        kernelPath = try c.read(.kernelPath)
        keepEvery = try c.read(.keepEvery)
        failureReason = try c.read(.failureReason)
        pid = try c.read(.pid)
        host = try c.read(.host)
        heartbeatAt = try c.read(.heartbeatAt)
        sweepID = try c.read(.sweepID)
        ownerToken = try c.read(.ownerToken)
        leaseExpiresAt = try c.read(.leaseExpiresAt)
        patience = try c.read(.patience)
        minDelta = try c.read(.minDelta)
        lrSchedule = try c.read(.lrSchedule)
        minLearningRate = try c.read(.minLearningRate)
        weightDecay = try c.read(.weightDecay)
        note = try c.read(.note)
        uid = try c.read(.uid)
    }

    /// The row of `runs` with this id.
    static func fetch(_ db: any SQLConnection, id: Int64) throws -> Run? {
        try db.fetchOne("SELECT * FROM runs WHERE id = ?", [id.sqlValue]).map { try $0.decode() }
    }
}

/// What a caller supplies to start a run: the row of `runs` it will insert, of which
/// `Store.createRun` sets the lifecycle columns (`Run.init(id:new:)`: id, status, timestamps,
/// owner, uid). Every other column is read and set through `Run`'s property of the same
/// name (`new.weightDecay`), so a new column of `runs` is declared once, in `Run`.
@dynamicMemberLookup
public struct NewRun: Sendable, Equatable {
    /// Nil gives "run-<id>".
    public var name: String?
    /// The row, but for what `createRun` sets.
    var row: Run

    public subscript<T>(dynamicMember column: WritableKeyPath<Run, T>) -> T {
        get { row[keyPath: column] }
        set { row[keyPath: column] = newValue }
    }

    /// Set `parentRunID` and `parentEpoch` both to fork from another run's checkpoint;
    /// epochs then continue at parentEpoch + 1. `sweepID`: the sweep this run is part of,
    /// which must exist. A column not named here keeps `Run`'s default until set.
    public init(
        name: String? = nil, parentRunID: Int64? = nil, parentEpoch: Int? = nil,
        learningRate: Double, batchSize: Int, epochs: Int, hidden: String, activation: String,
        loss: String, momentum: Double = 0, seed: Int64, trainSize: Int, valSize: Int,
        datasetPath: String, datasetChecksum: String, codeVersion: String, kernelPath: String,
        keepEvery: Int, sweepID: Int64? = nil, patience: Int? = nil, minDelta: Double = 0,
        lrSchedule: String = "constant", minLearningRate: Double = 0, weightDecay: Double = 0
    ) {
        self.name = name
        row = Run(
            id: 0, name: "", status: .running, parentRunID: parentRunID,
            parentEpoch: parentEpoch, createdAt: "", finishedAt: nil,
            learningRate: learningRate, batchSize: batchSize, epochs: epochs, hidden: hidden,
            activation: activation, loss: loss, momentum: momentum, seed: seed,
            trainSize: trainSize, valSize: valSize, datasetPath: datasetPath,
            datasetChecksum: datasetChecksum, codeVersion: codeVersion, kernelPath: kernelPath,
            keepEvery: keepEvery, failureReason: nil, pid: nil, host: nil, heartbeatAt: nil,
            sweepID: sweepID, patience: patience, minDelta: minDelta, lrSchedule: lrSchedule,
            minLearningRate: minLearningRate, weightDecay: weightDecay)
    }
}

extension Run {
    /// The row `createRun` inserts for `new`: running since `now`, held by `lease`.
    init(id: Int64, new: NewRun, now: String, lease: Lease, expiresAt: String) {
        self = new.row
        self.id = id
        name = new.name ?? "run-\(id)"
        status = .running
        createdAt = now
        finishedAt = nil
        failureReason = nil
        pid = Int64(getpid())
        host = Lease.hostName
        heartbeatAt = now
        ownerToken = lease.token
        leaseExpiresAt = expiresAt
        note = nil
        uid = UUID().uuidString.lowercased()
    }
}
