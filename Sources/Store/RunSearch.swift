/// Which runs to list and in what order, as `runs --where … --sort …` and `/api/runs?where=…`
/// ask: a user's SQL expression over `run_summary`'s columns, run through the read-only guard
/// of `mnistlab sql` (`Engine.query`), so it can neither write nor run a second statement on
/// either store, and returns exactly the rows that guard's query returns.
public struct RunSearch: Sendable, Equatable {
    /// A SQL expression over `run_summary`'s columns: `learning_rate > 0.05 AND note LIKE '%x%'`.
    public var expression: String?
    /// A column of `run_summary` to order by (runs without a value last), then the newest
    /// first; nil: the newest first.
    public var sort: Sort?
    public var status: Run.Status?
    public var tag: String?
    public var sweepID: Int64?
    public var limit: Int?

    public struct Sort: Sendable, Equatable {
        public var column: String
        public var descending: Bool

        public init(column: String, descending: Bool = false) {
            self.column = column
            self.descending = descending
        }

        /// `COLUMN`, `COLUMN,asc` or `COLUMN,desc`; nil for anything else.
        public init?(_ text: String) {
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), !parts[0].isEmpty else { return nil }
            switch parts.count == 2 ? parts[1].lowercased() : "asc" {
            case "asc": self.init(column: String(parts[0]))
            case "desc": self.init(column: String(parts[0]), descending: true)
            default: return nil
            }
        }
    }

    public init(
        expression: String? = nil, sort: Sort? = nil, status: Run.Status? = nil,
        tag: String? = nil, sweepID: Int64? = nil, limit: Int? = nil
    ) {
        self.expression = expression
        self.sort = sort
        self.status = status
        self.tag = tag
        self.sweepID = sweepID
        self.limit = limit
    }

    /// The statement the guard runs, given `run_summary`'s columns: the user's expression on
    /// lines of its own (so that a `--` comment in it ends at its line), the other filters as
    /// literals (the guard binds nothing; a status is one of four words, ids are integers and
    /// a tag's quotes are doubled), and an order both engines read alike: NULLs last
    /// (`col IS NULL` first), ties by id, newest first.
    func sql(columns: [String]) throws -> String {
        var conditions: [String] = []
        if let expression { conditions.append("(\n\(expression)\n)") }
        if let status { conditions.append("status = '\(status.rawValue)'") }
        if let sweepID { conditions.append("sweep_id = \(sweepID)") }
        if let tag {
            let literal = "'" + tag.replacingOccurrences(of: "'", with: "''") + "'"
            conditions.append("id IN (SELECT run_id FROM run_tags WHERE tag = \(literal))")
        }
        var order = "id DESC"
        if let sort {
            guard columns.contains(sort.column) else {
                throw StoreError(
                    .badSearch,
                    "run_summary has no column \(sort.column); its columns are \(columns.joined(separator: ", ")).")
            }
            // Quoted, so that a column named like a keyword still reads as the column.
            let column = "\"\(sort.column)\""
            order = "\(column) IS NULL, \(column)\(sort.descending ? " DESC" : ""), id DESC"
        }
        return "SELECT * FROM run_summary"
            + (conditions.isEmpty ? "" : "\nWHERE " + conditions.joined(separator: "\nAND "))
            + "\nORDER BY \(order)" + (limit.map { "\nLIMIT \($0)" } ?? "")
    }
}

extension Store {
    /// The rows of `run_summary` that `search` selects, in its order, each as it really is
    /// (`Store.live`). A sort column that is not one of the view's, or an expression the
    /// database can't run, is `.badSearch`; a write or a second statement is refused as
    /// `mnistlab sql` refuses it.
    public func summaries(
        _ search: RunSearch, limits: StatementLimits = .terminal
    ) throws -> [RunSummary] {
        try attempt("Cannot search the runs in \(location)") {
            // The view's columns, to check a sort column against (only then: on PostgreSQL the
            // guard's query is a transaction and a round trip of its own).
            let columns =
                search.sort == nil
                ? [] : try engine.query("SELECT * FROM run_summary LIMIT 0", limits: limits).columns
            let result: QueryResult
            do {
                result = try engine.query(try search.sql(columns: columns), limits: limits)
            } catch let error as StoreError where error.kind == .database {
                throw StoreError(.badSearch, sentence(error.reason))
            } catch let error as any EngineFailure {
                throw StoreError(.badSearch, sentence(oneLine(error.engineMessage)))
            }
            let names = SQLColumns(result.columns)
            return try result.rows.map {
                Self.live(try SQLRow(columns: names, values: $0).decode(RunSummary.self))
            }
        }
    }
}
