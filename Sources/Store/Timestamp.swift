/// The one source of timestamps written by the Store: the database's clock, so that machines
/// sharing a PostgreSQL store with skewed clocks never write times that contradict each other.
/// Every timestamp column holds ISO-8601 UTC with milliseconds, "2026-11-25T08:22:13.123Z"
/// (each dialect's `now` writes that text).
extension Store {
    /// The database's time now and, with `leaseSeconds`, a lease's expiry from now, read in one
    /// statement inside the transaction `db`, for a record that must carry them; a statement
    /// that only writes a time uses `dialect.now` itself.
    func databaseNow(
        _ db: SQLConnection, leaseSeconds: Double? = nil
    ) throws -> (now: String, expiry: String) {
        let expiry = leaseSeconds.map { dialect.expiry($0) } ?? dialect.now
        guard let row = try db.fetchOne("SELECT \(dialect.now) AS now, \(expiry) AS expiry") else {
            throw StoreError(.database, "the database did not tell its time.")
        }
        return (try row.get("now"), try row.get("expiry"))
    }
}
