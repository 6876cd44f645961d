// TEMPORARY until pg-engine lands.
enum PostgresLocation {
    static func isURL(_ s: String) -> Bool { s.lowercased().hasPrefix("postgres://") || s.lowercased().hasPrefix("postgresql://") }
    static func redacted(_ s: String) -> String { s }
}
enum PostgresEngine {
    static func open(url: String, readOnly: Bool, allowOlderSchema: Bool) throws -> SQLiteEngine { throw StoreError(.badURL, "not yet") }
}
