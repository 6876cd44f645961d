/// PostgreSQL's schema history: every `Migrations/postgres/NNNN_name.pg.sql` file, in order,
/// with the same numbers and names as SQLite's. As with `Migrations.all`, SwiftPM compiles
/// each file into a byte array and gives no list of them, so the list lives here and
/// `embeddedMigrationsMatchFilesOnDisk` keeps it honest.
enum PostgresMigrations {
    /// Append-only: a new file gets the next number, and committed files never change.
    static let all: [Migration] = []
}
