/// A row of `sweeps`: one `mnistlab sweep` grid.

/// A grid search whose runs carry its id in `runs.sweep_id`. Mirrors `sweeps`.
public struct SweepRecord: Codable, Sendable, Equatable {
    public var id: Int64
    public var createdAt: String
    /// The swept values as JSON, e.g. `{"learning_rate":[0.05,0.1]}`.
    public var grid: String
    /// Runs in the grid.
    public var size: Int
    /// The sweep's identity in every store (a UUID), kept when `import` copies it.
    public var uid: String? = nil
    /// How it searches beyond its grid (ASHA's rungs, TPE); all nil for a plain sweep.
    public var search = SweepSearch()

    enum CodingKeys: String, CodingKey {
        case id
        case createdAt = "created_at"
        case grid, size, uid
    }

    public init(
        id: Int64, createdAt: String, grid: String, size: Int, uid: String? = nil,
        search: SweepSearch = SweepSearch()
    ) {
        self.id = id
        self.createdAt = createdAt
        self.grid = grid
        self.size = size
        self.uid = uid
        self.search = search
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int64.self, forKey: .id)
        createdAt = try c.decode(String.self, forKey: .createdAt)
        grid = try c.decode(String.self, forKey: .grid)
        size = try c.decode(Int.self, forKey: .size)
        uid = try c.decodeIfPresent(String.self, forKey: .uid)
        search = try SweepSearch(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(grid, forKey: .grid)
        try c.encode(size, forKey: .size)
        try c.encodeIfPresent(uid, forKey: .uid)
        try search.encode(to: encoder)
    }
}

/// How a sweep searches beyond its grid: the columns 0014_asha_rungs.sql adds to `sweeps`.
public struct SweepSearch: Codable, Sendable, Equatable {
    /// The most epochs a trial trains (`--epochs`).
    public var epochs: Int?
    /// ASHA's R (`--min-epochs`): rung 0's epoch.
    public var minEpochs: Int?
    /// ASHA's η (`--reduction-factor`); nil: no ASHA.
    public var reductionFactor: Int?
    /// TPE's random trials before it models (`--startup`); nil: no TPE.
    public var tpeStartup: Int?

    enum CodingKeys: String, CodingKey {
        case epochs
        case minEpochs = "min_epochs"
        case reductionFactor = "reduction_factor"
        case tpeStartup = "tpe_startup"
    }

    public init(
        epochs: Int? = nil, minEpochs: Int? = nil, reductionFactor: Int? = nil,
        tpeStartup: Int? = nil
    ) {
        self.epochs = epochs
        self.minEpochs = minEpochs
        self.reductionFactor = reductionFactor
        self.tpeStartup = tpeStartup
    }

    /// Whether workers claim its trials through `claimSweepJob` (ASHA or TPE), not
    /// `claimTrial`.
    public var decidesItsJobs: Bool { reductionFactor != nil || tpeStartup != nil }
}

// MARK: - Database

extension SweepRecord {
    static let table = "sweeps"
}
