/// One libpq connection, and the one place where libpq's results and messages become
/// `SQLValue`s and one-line errors. Synchronous, like the store: a statement blocks its
/// caller's thread until the server answers, with nothing else to wait on.
import CLibPQ
import Foundation

final class PostgresConnection {
    private let pq: LibPQ
    private let handle: LibPQ.Connection

    private init(_ pq: LibPQ, _ handle: LibPQ.Connection) {
        self.pq = pq
        self.handle = handle
    }

    deinit { pq.finish(handle) }

    /// Connects as libpq does for psql: the URL's parameters, then the `PG*` variables, the
    /// service file and `~/.pgpass` for what it leaves out. `settings` are sent to the server
    /// as the session's own (`SET`), after connecting.
    static func connect(
        _ location: PostgresLocation, settings: [(String, String)]
    ) throws -> PostgresConnection {
        let pq = try LibPQ.shared
        // Before the URL, so that the URL, a service file or PGCONNECT_TIMEOUT overrides
        // them (libpq takes the last value given): without a connect_timeout, a server whose
        // machine is down is waited for as long as the kernel retries the TCP handshake,
        // about two minutes.
        var keywords = ["dbname"]
        var values = [location.url]
        let environment = ProcessInfo.processInfo.environment
        if environment["PGCONNECT_TIMEOUT"] == nil {
            keywords.insert("connect_timeout", at: 0)
            values.insert(String(Timeouts.postgresConnect), at: 0)
        }
        if environment["PGAPPNAME"] == nil {
            keywords.insert("fallback_application_name", at: 0)
            values.insert("mnistlab", at: 0)
        }
        let handle = withCStrings(keywords) { keywords in
            withCStrings(values) { values in pq.connectdbParams(keywords, values, 1) }
        }
        guard let handle else {
            throw ConnectFailure(message: "out of memory for a new connection")
        }
        let connection = PostgresConnection(pq, handle)
        // libpq prints the server's notices ("… already exists, skipping") and what arrives
        // while no statement runs (a shutdown's FATAL) on standard error; the store's own
        // errors say what matters, in one line.
        _ = pq.setNoticeProcessor(handle, { _, _ in }, nil)
        guard pq.status(handle) == CONNECTION_OK else {
            throw ConnectFailure(
                message: location.scrub(PostgresLocation.tidy(text(pq.errorMessage(handle)))))
        }
        for (name, value) in settings {
            do {
                try connection.run("SELECT set_config($1, $2, false)", [.text(name), .text(value)])
            } catch let failure as StatementFailure {
                throw ConnectFailure(message: failure.message)
            }
        }
        return connection
    }

    /// Where the connection went, as psql's `\conninfo` names it: the host (or the socket's
    /// directory), the port, the database and the user.
    var endpoint: (host: String, port: String, database: String, user: String) {
        (text(pq.host(handle)), text(pq.port(handle)), text(pq.db(handle)), text(pq.user(handle)))
    }

    var isBroken: Bool { pq.status(handle) != CONNECTION_OK }

    /// Whether the server has not closed the connection since its last answer: anything it
    /// sent meanwhile (the notice of a shutdown, the end of the stream) is read first, without
    /// waiting. Asked before COMMIT, so that a transaction whose session ended before it
    /// reached COMMIT is known not to be applied.
    var isOpen: Bool {
        var poller = pollfd(fd: pq.socket(handle), events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 0) > 0 else { return !isBroken }
        return pq.consumeInput(handle) == 1 && !isBroken
    }

    // MARK: - Statements

    /// Runs one statement with `$N` placeholders. Every value goes as its binary form, and
    /// every result comes back in binary, so a checkpoint's bytes are sent and read as they
    /// are (no hex text twice their size) and a float8 keeps every bit.
    @discardableResult
    func run(_ sql: String, _ arguments: [SQLValue] = []) throws -> PostgresResult {
        let parameters = arguments.map(Parameter.init)
        let result = withParameters(parameters) { types, values, lengths, formats in
            pq.execParams(
                handle, sql, Int32(parameters.count), types, values, lengths, formats, 1)
        }
        defer { pq.clear(result) }
        let status = result.map(pq.resultStatus) ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            throw failure(result)
        }
        return decode(result)
    }

    private func failure(_ result: LibPQ.Outcome?) -> StatementFailure {
        let state = result.flatMap { pq.resultErrorField($0, Int32(UInt8(ascii: "C"))) }.map {
            String(cString: $0)
        }
        let primary = result.flatMap { pq.resultErrorField($0, Int32(UInt8(ascii: "M"))) }.map {
            String(cString: $0)
        }
        // libpq's own failures (the socket closed, no answer) have no SQLSTATE and say so
        // on the connection.
        let message = primary ?? text(result.map(pq.resultErrorMessage) ?? pq.errorMessage(handle))
        return StatementFailure(
            message: PostgresLocation.tidy(message), sqlState: state,
            lost: isBroken || StatementFailure.meansLost(state))
    }

    private func decode(_ result: LibPQ.Outcome?) -> PostgresResult {
        guard let result else { return PostgresResult(columns: [], rows: [], affected: 0) }
        let fieldCount = pq.nfields(result)
        let rowCount = pq.ntuples(result)
        let columns = (0..<fieldCount).map { text(pq.fname(result, $0)) }
        let types = (0..<fieldCount).map { pq.ftype(result, $0) }
        var rows: [[SQLValue]] = []
        rows.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            var values: [SQLValue] = []
            values.reserveCapacity(Int(fieldCount))
            for field in 0..<fieldCount {
                if pq.getisnull(result, row, field) != 0 {
                    values.append(.null)
                    continue
                }
                let length = Int(pq.getlength(result, row, field))
                let bytes = pq.getvalue(result, row, field).map {
                    UnsafeRawBufferPointer(start: $0, count: length)
                } ?? UnsafeRawBufferPointer(start: nil, count: 0)
                values.append(PostgresBinary.value(type: types[Int(field)], bytes))
            }
            rows.append(values)
        }
        let affected = Int(text(pq.cmdTuples(result))) ?? 0
        return PostgresResult(columns: columns, rows: rows, affected: affected)
    }

    // MARK: - Parameters

    /// One argument as libpq takes it: its type's OID and its binary form (nil for NULL,
    /// whose type the server infers).
    private struct Parameter {
        var type: Oid
        var bytes: [UInt8]?

        init(_ value: SQLValue) {
            switch value {
            case .null: (type, bytes) = (0, nil)
            case .integer(let integer): (type, bytes) = (PostgresBinary.int8, Self.bigEndian(integer))
            case .real(let real): (type, bytes) = (PostgresBinary.float8, Self.bigEndian(real.bitPattern))
            case .text(let text): (type, bytes) = (PostgresBinary.text, Array(text.utf8))
            case .blob(let blob): (type, bytes) = (PostgresBinary.bytea, blob)
            }
        }

        private static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
            withUnsafeBytes(of: value.bigEndian) { Array($0) }
        }
    }

    private func withParameters<R>(
        _ parameters: [Parameter],
        _ body: (
            UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?,
            UnsafePointer<Int32>?
        ) -> R
    ) -> R {
        let types = parameters.map(\.type)
        let lengths = parameters.map { Int32($0.bytes?.count ?? 0) }
        let formats = [Int32](repeating: 1, count: parameters.count)
        // Each value's bytes pinned for the call; an empty one still needs a non-NULL
        // pointer (NULL means SQL NULL).
        var pinned: [UnsafeMutablePointer<CChar>?] = parameters.map { parameter in
            guard let bytes = parameter.bytes else { return nil }
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawPointer(copy).copyMemory(
                    from: source.baseAddress ?? UnsafeRawPointer(copy), byteCount: bytes.count)
            }
            return copy
        }
        defer { pinned.forEach { $0?.deallocate() } }
        return pinned.withUnsafeMutableBufferPointer { values in
            values.withMemoryRebound(to: UnsafePointer<CChar>?.self) { values in
                body(types, values.baseAddress, lengths, formats)
            }
        }
    }
}

/// The columns and rows of one statement, and how many rows it changed.
struct PostgresResult {
    var columns: [String]
    var rows: [[SQLValue]]
    var affected: Int
}

/// Connecting failed; `message` is libpq's (or the server's), one line, without the password.
struct ConnectFailure: Error {
    let message: String

    /// A TLS failure: the URL requires TLS and the server has none, or the handshake (the
    /// certificate check included) failed.
    var isTLS: Bool {
        ["SSL", "certificate", "TLS"].contains { message.contains($0) }
    }

    /// The client certificate's problem when that is why connecting failed, with the reason
    /// in a sentence for people (libpq's own words are about files and permission bits).
    var clientCertificate: (problem: ClientCertificateProblem, reason: String)? {
        func path(after prefix: String) -> String? {
            guard let start = message.range(of: prefix + " \""),
                let end = message[start.upperBound...].firstIndex(of: "\"")
            else { return nil }
            return String(message[start.upperBound..<end])
        }
        /// What libpq says after `file "PATH":`, if anything (OpenSSL's reason).
        func detail(_ path: String) -> String {
            guard let end = message.range(of: "\"\(path)\":") else { return "" }
            return String(message[end.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        if message.contains("connection requires a valid client certificate") {
            return (.required, "the server accepts this user only with a client certificate, and none was sent.")
        }
        if let key = path(after: "certificate present, but not private key file") {
            return (.keyMissing(path: key), "the client certificate's key \(key) does not exist.")
        }
        if let key = path(after: "private key file"), message.contains("has group or world access") {
            return (
                .keyTooOpen(path: key),
                "the client key \(key) may be read by other users (group or world permissions), and libpq refuses to use such a key."
            )
        }
        if let key = path(after: "could not load private key file") ?? path(after: "private key file") {
            let why =
                switch detail(key) {
                case _ where message.contains("is not a regular file"): "it is not a file"
                case "key values mismatch": "it is not the key of the client certificate"
                case "": "this user can't read it"
                case let reason: "it is not a PEM private key this user can read (\(reason))"
                }
            return (.keyUnusable(path: key), "the client key \(key) can't be used: \(why).")
        }
        if let certificate = path(after: "could not read certificate file")
            ?? path(after: "could not open certificate file")
        {
            return (
                .certificateUnusable(path: certificate),
                "the client certificate \(certificate) can't be read as a certificate (\(detail(certificate).isEmpty ? "unreadable" : detail(certificate)))."
            )
        }
        return nil
    }

    /// Whether connecting again soon may succeed: nothing listened yet, the server was
    /// starting, stopping or in recovery, or no host was writable yet (a failover under
    /// way). A wrong password, a missing database or a failed certificate check stays so.
    var isPassing: Bool {
        !isTLS
            && [
                "Connection refused", "No such file or directory", "the database system is",
                "server closed the connection", "timeout expired", "Connection reset",
                "could not receive data", "could not send data", "Network is unreachable",
                "No route to host", "read-only", "hot standby", "not accepting connections",
                "terminating connection",
            ].contains { message.contains($0) }
    }
}

/// The server refused a statement, or the connection went away while it ran.
struct StatementFailure: Error {
    let message: String
    /// The server's SQLSTATE; nil when libpq failed before the server answered.
    let sqlState: String?
    /// The connection is gone (server restarted, network dropped, session ended by the
    /// server), as opposed to the server refusing this one statement.
    let lost: Bool

    /// SQLSTATEs that end the session: 08 (connection exception), 57P01–03 (the server shut
    /// down or is restarting), 25P03 (it ended a session left idle in a transaction).
    static func meansLost(_ state: String?) -> Bool {
        guard let state else { return false }
        return state.hasPrefix("08") || ["57P01", "57P02", "57P03", "25P03"].contains(state)
    }
}

/// `strings` as a NULL-terminated array of C strings, valid during `body`.
private func withCStrings<R>(
    _ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R
) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
