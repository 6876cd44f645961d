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

    enum CodingKeys: String, CodingKey {
        case id
        case createdAt = "created_at"
        case grid, size, uid
    }
}

// MARK: - Database

extension SweepRecord {
    static let table = "sweeps"
}
