/// libpq, PostgreSQL's own client library, opened with dlopen the first time a PostgreSQL
/// store is: linked the usual way, it and the 23 libraries it needs (OpenSSL, GnuTLS,
/// Kerberos, LDAP) were loaded and relocated at every start of every command, about 45 ms on
/// this machine, SQLite ones included (BENCHMARKS.md, "Process start"). CLibPQ gives the
/// types and constants of libpq-fe.h; the functions are looked up here, by name.
import CLibPQ
import Foundation

/// The libpq functions the engine calls. `LibPQ.shared` loads the library once.
struct LibPQ: @unchecked Sendable {
    typealias Connection = OpaquePointer
    typealias Outcome = OpaquePointer

    let connectdbParams:
        @convention(c) (
            UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?, Int32
        ) -> Connection?
    let status: @convention(c) (Connection?) -> ConnStatusType
    let errorMessage: @convention(c) (Connection?) -> UnsafeMutablePointer<CChar>?
    let finish: @convention(c) (Connection?) -> Void
    let execParams:
        @convention(c) (
            Connection?, UnsafePointer<CChar>?, Int32, UnsafePointer<Oid>?,
            UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?,
            Int32
        ) -> Outcome?
    let resultStatus: @convention(c) (Outcome?) -> ExecStatusType
    let resultErrorField: @convention(c) (Outcome?, Int32) -> UnsafeMutablePointer<CChar>?
    let resultErrorMessage: @convention(c) (Outcome?) -> UnsafeMutablePointer<CChar>?
    let clear: @convention(c) (Outcome?) -> Void
    let ntuples: @convention(c) (Outcome?) -> Int32
    let nfields: @convention(c) (Outcome?) -> Int32
    let fname: @convention(c) (Outcome?, Int32) -> UnsafeMutablePointer<CChar>?
    let ftype: @convention(c) (Outcome?, Int32) -> Oid
    let getvalue: @convention(c) (Outcome?, Int32, Int32) -> UnsafeMutablePointer<CChar>?
    let getlength: @convention(c) (Outcome?, Int32, Int32) -> Int32
    let getisnull: @convention(c) (Outcome?, Int32, Int32) -> Int32
    let cmdTuples: @convention(c) (Outcome?) -> UnsafeMutablePointer<CChar>?
    let conninfoParse:
        @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?)
            -> UnsafeMutablePointer<PQconninfoOption>?
    let conninfoFree: @convention(c) (UnsafeMutablePointer<PQconninfoOption>?) -> Void
    let freemem: @convention(c) (UnsafeMutableRawPointer?) -> Void
    let host: @convention(c) (Connection?) -> UnsafeMutablePointer<CChar>?
    let port: @convention(c) (Connection?) -> UnsafeMutablePointer<CChar>?
    let db: @convention(c) (Connection?) -> UnsafeMutablePointer<CChar>?
    let user: @convention(c) (Connection?) -> UnsafeMutablePointer<CChar>?
    let socket: @convention(c) (Connection?) -> Int32
    let consumeInput: @convention(c) (Connection?) -> Int32
    let setNoticeProcessor:
        @convention(c) (
            Connection?,
            (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Void)?,
            UnsafeMutableRawPointer?
        ) -> (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Void)?

    /// libpq, loaded at the first use; throws `.connection` saying what to install when it
    /// is missing.
    static var shared: LibPQ {
        get throws { try loaded.get() }
    }

    private static let loaded = Result<LibPQ, StoreError> { () throws(StoreError) in try LibPQ() }

    /// Debian's package libpq5 ships libpq.so.5; libpq-dev adds the unversioned name.
    private static let names = ["libpq.so.5", "libpq.so"]

    private init() throws(StoreError) {
        guard let handle = Self.names.lazy.compactMap({ dlopen($0, RTLD_NOW | RTLD_LOCAL) }).first
        else {
            let why = dlerror().map { String(cString: $0) } ?? "not found"
            throw StoreError(
                .connection,
                "PostgreSQL's client library libpq could not be loaded (\(oneLine(why))); install "
                    + "it (Debian: apt-get install libpq5).")
        }
        func symbol<F>(_ name: String) throws(StoreError) -> F {
            guard let address = dlsym(handle, name) else {
                throw StoreError(
                    .connection, "the libpq found has no \(name); it is older than mnistlab needs.")
            }
            return unsafeBitCast(address, to: F.self)
        }
        connectdbParams = try symbol("PQconnectdbParams")
        status = try symbol("PQstatus")
        errorMessage = try symbol("PQerrorMessage")
        finish = try symbol("PQfinish")
        execParams = try symbol("PQexecParams")
        resultStatus = try symbol("PQresultStatus")
        resultErrorField = try symbol("PQresultErrorField")
        resultErrorMessage = try symbol("PQresultErrorMessage")
        clear = try symbol("PQclear")
        ntuples = try symbol("PQntuples")
        nfields = try symbol("PQnfields")
        fname = try symbol("PQfname")
        ftype = try symbol("PQftype")
        getvalue = try symbol("PQgetvalue")
        getlength = try symbol("PQgetlength")
        getisnull = try symbol("PQgetisnull")
        cmdTuples = try symbol("PQcmdTuples")
        conninfoParse = try symbol("PQconninfoParse")
        conninfoFree = try symbol("PQconninfoFree")
        freemem = try symbol("PQfreemem")
        host = try symbol("PQhost")
        port = try symbol("PQport")
        db = try symbol("PQdb")
        user = try symbol("PQuser")
        socket = try symbol("PQsocket")
        consumeInput = try symbol("PQconsumeInput")
        setNoticeProcessor = try symbol("PQsetNoticeProcessor")
    }
}

/// A C string libpq owns, as Swift text ("" for NULL).
func text(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
    pointer.map { String(cString: $0) } ?? ""
}
