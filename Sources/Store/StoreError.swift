/// Everything the Store refuses or fails to do, as one line prefixed with what was attempted.

/// A Store failure: one line, prefixed with what was attempted, e.g.
/// "Cannot open database at ./x.sqlite: file is not a database (not SQLite)." The reason
/// names no command or flag: the CLI adds what to do from `kind`, which carries the facts.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, for callers that react differently (exit codes, retries).
    public enum Kind: Sendable, Equatable {
        /// The path is a directory, not SQLite, or SQLite of another application.
        case notOurDatabase
        /// The path is empty (an unset variable, an empty argument).
        case emptyPath
        /// The file was written by a newer mnistlab.
        case newerSchema(found: Int, known: Int)
        /// A read-only open found a schema that needs migrating first.
        case olderSchema(found: Int, known: Int)
        /// A read-only open found no database at the path.
        case missing
        /// The file can't be written (but may be read).
        case notWritable
        /// The directory can't be written, so no database can be created or locked there.
        case directoryNotWritable
        /// The directory of the path does not exist.
        case noDirectory
        /// The file can't be read.
        case notReadable
        /// A run, epoch or checkpoint that was asked for does not exist.
        case notFound
        /// Another live process holds the run (its lease has not expired).
        case runHeld(RunHolder)
        /// Runs were forked from `runID` (`forks`, by id) and would lose their parent.
        case hasForks(runID: Int64, forks: [Int64])
        /// Live processes hold these runs, and the operation needs none writing.
        case runsLive([RunHolder])
        /// This process no longer holds the run: another one claimed it after its lease
        /// expired. Nothing was written.
        case leaseLost(runID: Int64)
        /// Another worker has claimed the sweep trial since this one did. Nothing was written.
        case trialLost(sweepID: Int64, number: Int)
        /// Live workers ("host:pid") hold trials of the sweep, and the operation needs none
        /// held.
        case trialsHeld(sweepID: Int64, workers: [String])
        /// A checkpoint's bytes don't match their stored checksum.
        case checksumMismatch
        /// `query` was given a statement that writes.
        case notReadOnly
        /// An argument is out of range (e.g. keepEvery < 1, mismatched epoch numbers).
        case invalidArgument
        /// The location is not a PostgreSQL URL mnistlab can use (scheme, port, sslmode…).
        case badURL
        /// The database server can't be reached or refused the connection: nothing listens
        /// there, the password is wrong, the database does not exist, or the connection was
        /// lost and could not be made again.
        case connection
        /// Connecting failed over TLS: the URL's sslmode requires it and the server has none,
        /// or the handshake (the certificate check included) failed.
        case tls
        /// The client certificate the connection needs (`sslcert`, `sslkey`) is missing or
        /// can't be used.
        case clientCertificate(ClientCertificateProblem)
        /// The connection to the server was lost after the database was opened, and could not
        /// be made again within the reconnect window, or was lost during a COMMIT, so it is
        /// not known whether that transaction was applied. What was committed before stays.
        case connectionLost
        /// A run search (`RunSearch`) names no column of run_summary to sort by, or its
        /// expression is not one the database can run.
        case badSearch
        /// A statement given by the user (`sql`, a run search) ran past `seconds` and was
        /// stopped; nothing it read was returned.
        case queryTooLong(seconds: Double)
        /// The database reported an error (syntax, constraint, I/O…).
        case database
    }

    public let kind: Kind
    /// What was being attempted, e.g. "Cannot open database at ./x.sqlite".
    public let action: String?
    /// Why it failed, one sentence.
    public let reason: String

    /// The database server can't be reached now (down, restarting, refusing TLS): worth
    /// trying again later, unlike every other failure.
    public var isUnavailable: Bool {
        switch kind {
        case .connection, .connectionLost, .tls: true
        default: false
        }
    }

    public var description: String {
        action.map { "\($0): \(reason)" } ?? reason
    }

    init(_ kind: Kind, _ reason: String, action: String? = nil) {
        self.kind = kind
        self.reason = reason
        self.action = action
    }

    /// `known`: the engine's latest migration (SQLite's and PostgreSQL's lists may differ).
    static func newerSchema(version: Int, known: Int = Migrations.latestVersion) -> StoreError {
        StoreError(
            .newerSchema(found: version, known: known),
            "it was written by a newer mnistlab (schema \(version); this build knows \(known)).")
    }

    static func olderSchema(version: Int, known: Int = Migrations.latestVersion) -> StoreError {
        StoreError(
            .olderSchema(found: version, known: known),
            "it has schema \(version) and this build reads schema \(known); "
                + "a read-only open does not migrate.")
    }
}

/// What is wrong with the client certificate a PostgreSQL connection needs.
public enum ClientCertificateProblem: Sendable, Equatable {
    /// The server takes this user only with a client certificate, and none was sent.
    case required
    /// The certificate file can't be read as a certificate.
    case certificateUnusable(path: String)
    /// A certificate was found, but no key file beside it.
    case keyMissing(path: String)
    /// Users other than its owner may read the key (group or world permissions), and libpq
    /// refuses such a key.
    case keyTooOpen(path: String)
    /// The key can't be loaded: this user may not read it, it is not a PEM private key, or
    /// not the certificate's.
    case keyUnusable(path: String)
}

/// The process holding a run, as its row records it.
public struct RunHolder: Sendable, Equatable {
    public var runID: Int64
    public var pid: Int64?
    public var host: String?
    /// When its lease ends unless renewed (database clock).
    public var leaseExpiresAt: String?
}

/// Runs `body`, turning any error into a `StoreError` prefixed with `action` (an inner
/// StoreError keeps its own prefix if it has one).
func attempt<T>(_ action: @autoclosure () -> String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as StoreError {
        if error.action != nil { throw error }
        throw StoreError(error.kind, error.reason, action: action())
    } catch let error as any EngineFailure {
        throw StoreError(.database, oneLine(error.engineMessage), action: action())
    } catch {
        throw StoreError(.database, oneLine("\(error)"), action: action())
    }
}

/// An error of a database driver (GRDB's DatabaseError, libpq) that its
/// engine knows how to put in words: the database's own message, without the driver's echo
/// of the statement and its arguments.
protocol EngineFailure: Error {
    var engineMessage: String { get }
}

func oneLine(_ text: String) -> String {
    text.split(whereSeparator: \.isNewline).joined(separator: " ")
}

/// A database's message ended as a sentence, so that advice after it reads apart from it:
/// a period unless it has one or ends with a question ("Is the server running on that
/// host…?"); SQLite's `near ";": syntax error` has neither.
func sentence(_ text: String) -> String {
    text.hasSuffix(".") || text.hasSuffix("?") ? text : text + "."
}
