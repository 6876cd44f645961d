/// The one place where the store's synchronous code waits on postgres-nio, and where
/// postgres-nio's errors become one-line `StoreError`s.
///
/// Why futures and `wait()` rather than the async API behind a semaphore: the store is called
/// from plain threads (training, lease renewal) and from the dashboard's async handlers. A
/// future completes on NIO's own event-loop thread, so a blocked caller never waits on
/// Swift's cooperative pool, which two blocked callers on a 2-core machine would exhaust.
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

enum PostgresBridge {
    /// postgres-nio's messages are for its developers; ours go through StoreError.
    static let logger = Logger(label: "mnistlab.postgres") { _ in SwiftLogNoOpLogHandler() }

    /// Opens one connection: TCP, TLS as `sslmode` asks, SCRAM-SHA-256 (or whatever the
    /// server asks for) with the URL's password. The server ends the session when it sits
    /// inside a transaction for `idleTransactionTimeout` seconds without a statement. Throws
    /// `.connection` (or `.tls`) with the reason.
    static func connect(
        _ location: PostgresLocation, readOnly: Bool, idleTransactionTimeout: TimeInterval
    ) throws -> PostgresConnection {
        do {
            return try connectOnce(
                location, readOnly: readOnly, idleTransactionTimeout: idleTransactionTimeout)
        } catch {
            throw connectionError(error, location)
        }
    }

    static func connectionError(_ error: any Error, _ location: PostgresLocation) -> StoreError {
        if let error = error as? StoreError { return error }
        // The caller's action names the URL already ("Cannot open database at postgres://…").
        let host = location.host.contains(":") ? "[\(location.host)]" : location.host
        return StoreError(
            isTLSFailure(error) ? .tls : .connection,
            "cannot connect to the server at \(host):\(location.port): \(reason(error)).")
    }

    /// Whether connecting failed over TLS: no TLS on a server the URL requires it of, or a
    /// failed handshake.
    static func isTLSFailure(_ error: any Error) -> Bool {
        if let error = error as? PSQLError {
            if error.code == .sslUnsupported { return true }
            return error.underlying.map(isTLSFailure) ?? false
        }
        if let error = error as? NIOConnectionError, let failure = error.connectionErrors.first {
            return isTLSFailure(failure.error)
        }
        return error is NIOSSLError || error is BoringSSLError
    }

    /// `connect` with postgres-nio's own error, for callers that tell a passing failure from
    /// a lasting one (`isWorthRetrying`).
    static func connectOnce(
        _ location: PostgresLocation, readOnly: Bool, idleTransactionTimeout: TimeInterval
    ) throws -> PostgresConnection {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch location.sslMode {
            case .disable:
                tls = .disable
            case .prefer, .require:
                // As libpq's prefer and require: encrypted, the certificate not checked.
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .none
                let context = try NIOSSLContext(configuration: configuration)
                tls = location.sslMode == .prefer ? .prefer(context) : .require(context)
            case .verifyFull:
                tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        } catch {
            throw StoreError(.tls, "cannot set up TLS: \(oneLine("\(error)")).")
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user,
            password: location.password ?? PasswordFile.password(for: location), database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        if location.sslMode == .verifyFull { configuration.options.tlsServerName = location.host }
        // A process stopped inside a transaction (SIGSTOP, a suspended VM, a machine cut off
        // with its TCP connection still open) would hold its row and advisory locks, and so
        // keep others from its run, for as long as it stays stopped, whatever its lease. The
        // server ends such a session instead; the transaction is rolled back, and the process,
        // if it ever wakes, reconnects and runs the body again, which its lost lease fences.
        configuration.options.additionalStartupParameters = [
            ("idle_in_transaction_session_timeout", "\(Int(idleTransactionTimeout * 1000))")
        ]
        // A read-only engine's sessions refuse writes on the server too, whatever SQL is sent.
        if readOnly {
            configuration.options.additionalStartupParameters.append(("default_transaction_read_only", "on"))
        }
        return try PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration,
            id: 1, logger: logger
        ).wait()
    }

    /// Runs one statement and waits for all its rows.
    static func run(
        _ connection: PostgresConnection, _ sql: String, _ arguments: [SQLValue] = []
    ) throws -> PostgresQueryResult {
        // A query written to a channel that has already closed is never answered (its
        // promise is dropped with the handler), so a closed connection fails here at once.
        guard !connection.isClosed else { throw ConnectionClosed() }
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .null: bindings.appendNull()
            case .integer(let integer): bindings.append(integer)
            case .real(let real): bindings.append(real)
            case .text(let text): bindings.append(text)
            case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            }
        }
        return try connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
            .wait()
    }

    /// The connection had closed before a statement could be sent.
    struct ConnectionClosed: Error {}

    static func close(_ connection: PostgresConnection) {
        // The socket is gone either way; a failure here has nothing left to tell.
        try? connection.close().wait()
    }

    // MARK: - Errors

    /// Whether `error` means the connection is gone (server restarted, network dropped),
    /// as opposed to the server refusing one statement.
    static func isConnectionLost(_ error: any Error) -> Bool {
        if error is ConnectionClosed { return true }
        guard let error = error as? PSQLError else { return error is IOError || error is ChannelError }
        switch error.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
            return true
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            // 08: connection exception; 57P01-03: the server shut down or is restarting;
            // 25P03: it ended a session left idle in a transaction.
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03", "25P03"].contains(state)
        default:
            return false
        }
    }

    /// Whether connecting again later may succeed: nothing listened yet, or the server was
    /// starting. A wrong password or a missing database stays wrong.
    static func isWorthRetrying(_ error: any Error) -> Bool {
        if let error = error as? PSQLError, error.code == .server {
            return error.serverInfo?[.sqlState] == "57P03"
        }
        return isConnectionLost(error) || error is NIOConnectionError
    }

    /// The server's SQLSTATE, when the server reported the error.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// One line saying why: the server's own message when it sent one, else what the
    /// network said, without postgres-nio's dump of the query and its bindings.
    static func reason(_ error: any Error) -> String {
        if error is ConnectionClosed { return "the server closed the connection" }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return oneLine(trimmed(message)) }
            if let underlying = error.underlying { return reason(underlying) }
            switch error.code {
            case .sslUnsupported: return "the server does not accept TLS connections"
            case .serverClosedConnection, .uncleanShutdown: return "the server closed the connection"
            case .clientClosedConnection: return "the connection was closed"
            case .authMechanismRequiresPassword: return "the server asks for a password, and neither the URL nor ~/.pgpass (PGPASSFILE) gives one"
            case .unsupportedAuthMechanism: return "the server asks for an authentication method mnistlab does not support"
            default: return oneLine(error.code.description)
            }
        }
        if let error = error as? NIOConnectionError {
            if let failure = error.connectionErrors.first { return reason(failure.error) }
            if error.dnsAError != nil || error.dnsAAAAError != nil {
                return "the host name \(error.host) is not known"
            }
            return "cannot reach \(error.host):\(error.port)"
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused (no server listens there)"
            case ETIMEDOUT: return "the connection timed out"
            case EHOSTUNREACH, ENETUNREACH: return "the host cannot be reached"
            default: return oneLine(String(cString: strerror(error.errnoCode)).lowercased())
            }
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return "the connection timed out"
        }
        if error is NIOSSLError || error is BoringSSLError {
            return "the TLS handshake failed (\(oneLine("\(error)")))"
        }
        if let resolution = error as? SocketAddressError {
            return "the host name cannot be resolved (\(oneLine("\(resolution)")))"
        }
        return oneLine("\(error)")
    }

    private static func trimmed(_ message: String) -> String {
        message.hasSuffix(".") ? String(message.dropLast()) : message
    }

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
