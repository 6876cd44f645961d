/// A run as a list of runs shows it (the dashboard's runs table): the dozen columns of
/// `run_summary` it reads, of the view's fifty. The runs page reads every run, and on
/// PostgreSQL decoding the cells of the other columns was most of its time.
public struct RunListing: Sendable, Equatable, Decodable {
    public var id: Int64
    public var name: String
    /// As it really is (see `Store.live`).
    public var status: Run.Status
    public var sweepID: Int64?
    public var createdAt: String
    public var learningRate: Double
    public var epochs: Int
    public var hidden: String
    public var activation: String
    public var lastEpoch: Int?
    public var bestValLoss: Double?
    public var bestValAccuracy: Double?
    /// Who trains the run, for `Store.live`.
    var pid: Int64?
    var host: String?

    /// The listing of a run's summary.
    public init(_ summary: RunSummary) {
        let run = summary.run
        id = run.id
        name = run.name
        status = run.status
        sweepID = run.sweepID
        createdAt = run.createdAt
        learningRate = run.learningRate
        epochs = run.epochs
        hidden = run.hidden
        activation = run.activation
        lastEpoch = summary.lastEpoch
        bestValLoss = summary.bestValLoss
        bestValAccuracy = summary.bestValAccuracy
        pid = run.pid
        host = run.host
    }
}

// MARK: - Database

extension RunListing {
    /// The columns of `run_summary` a listing reads, by their names in the view.
    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, name, status
        case sweepID = "sweep_id"
        case createdAt = "created_at"
        case learningRate = "learning_rate"
        case epochs, hidden, activation
        case lastEpoch = "last_epoch"
        case bestValLoss = "best_val_loss"
        case bestValAccuracy = "best_val_accuracy"
        case pid, host
    }

    /// What a query selects from `run_summary` for listings: only these columns (on
    /// PostgreSQL decoding the view's other cells was most of the runs page's time).
    static let selection = CodingKeys.allCases.map(\.stringValue).joined(separator: ", ")
}

extension RunListing: RowDecodable {
    /// Read by hand, in the order of `CodingKeys` (see `RowDecodable`).
    init(row: SQLRow) throws {
        var c = ColumnReader<CodingKeys>(row)
        id = try c.read(.id)
        name = try c.read(.name)
        status = try c.read(.status)
        sweepID = try c.read(.sweepID)
        createdAt = try c.read(.createdAt)
        learningRate = try c.read(.learningRate)
        epochs = try c.read(.epochs)
        hidden = try c.read(.hidden)
        activation = try c.read(.activation)
        lastEpoch = try c.read(.lastEpoch)
        bestValLoss = try c.read(.bestValLoss)
        bestValAccuracy = try c.read(.bestValAccuracy)
        pid = try c.read(.pid)
        host = try c.read(.host)
    }
}
