import ArgumentParser
import Datasets
import Foundation
import Store
import Sweeps
import Training

/// The one place where the lower layers' typed errors get the commands and flags that fix
/// them: Store, Training and Datasets say what is wrong, the CLI says what to do.
enum ErrorWording {
    /// The line printed after "Error: " for `error`, or nil to let argument-parser word it.
    static func message(for error: any Error) -> String? {
        switch error {
        case let error as StoreError: store(error)
        case let error as TrainingError: training(error)
        case let error as DatasetError: dataset(error)
        case let error as SweepError: sweep(error)
        default: nil
        }
    }

    static func sweep(_ error: SweepError) -> String {
        switch error {
        case .unknownSweep(let id):
            "There is no sweep \(id) in this database; `mnistlab sweeps` lists them."
        case .newerSettings: "\(error) Upgrade mnistlab on this machine."
        case .unreadableSettings, .unreadableSearch, .searchExhausted: "\(error)"
        }
    }

    static func store(_ error: StoreError) -> String {
        switch error.kind {
        case .notOurDatabase, .emptyPath:
            return "\(error) Use --db to pick a database file."
        case .missing:
            return "\(error) Train a run first (`mnistlab train`) or pass --db."
        case .newerSchema:
            return "\(error) Upgrade mnistlab to read it."
        case .olderSchema:
            return "\(error) `mnistlab db migrate` upgrades it (it needs write access)."
        case .noDirectory:
            return "\(error) Create it, or pass --db with a path in an existing directory."
        case .directoryNotWritable:
            return "\(error) Pass --db with a path in a directory you may write."
        case .notReadable:
            return "\(error) Ask its owner for read access, or pass --db with another file."
        case .notWritable:
            return "\(error) Query commands (runs, show, sql, …) can still read it."
        case .runHeld(let holder):
            return
                "Run \(holder.runID) is being trained by process \(holder.pid.map(String.init) ?? "?") on \(holder.host ?? "?") (lease until \(holder.leaseExpiresAt ?? "?")); wait for it to finish, or stop that process (Ctrl-C, or kill \(holder.pid.map(String.init) ?? "<pid>") on \(holder.host ?? "its host")); a run whose process died is free once its lease expires."
        case .hasForks(let runID, let forks):
            let list = forks.map(String.init).joined(separator: " ")
            return
                "\(error) Pass --with-forks to remove them too, or remove them first (`mnistlab rm \(list)`); `mnistlab show \(runID)` lists its forks."
        case .runsLive(let holders):
            let them = holders.count == 1 ? "it" : "them"
            return
                "\(error) Wait for \(them) to finish, or stop \(them) (Ctrl-C, or kill the process on its host); a run whose process died is free once its lease expires."
        case .leaseLost(let runID):
            return
                "Run \(runID) was taken over by another process after this one's lease expired; this process wrote nothing more to it."
        case .trialLost(let sweepID, let number):
            return
                "Trial \(number) of sweep \(sweepID) was taken over by another worker after this one's lease expired; this worker wrote nothing more to it."
        case .trialsHeld:
            return
                "\(error) Wait for the sweep to finish, or stop its workers (Ctrl-C, or kill the process on its host); a trial whose worker died is free once its lease expires."
        case .badURL:
            return
                "\(error) A PostgreSQL URL reads postgresql://[USER[:PASSWORD]@][HOST][:PORT][,HOST2…][/DATABASE][?PARAMETER=VALUE&…], as psql takes it."
        case .connection:
            return
                "\(error) Check the URL's host, port, user, password and database name, and that the server is running."
        case .tls:
            return
                "\(error) ?sslmode=prefer (the default) uses TLS only where the server offers it; require, verify-ca and verify-full need a server with ssl = on, and verify-ca and verify-full its certificate signed by the CA in sslrootcert (default ~/.postgresql/root.crt)."
        case .clientCertificate(let problem):
            return "\(error) " + clientCertificate(problem)
        case .connectionLost:
            return
                "\(error) Once the server is back, `mnistlab runs` shows what was recorded, and `mnistlab resume RUN` continues an interrupted run."
        case .badSearch:
            return
                "\(error) --where takes a SQL expression over run_summary's columns (`mnistlab sql \"SELECT * FROM run_summary LIMIT 0\"` lists them), --sort one of them."
        case .queryTooLong:
            return
                "\(error) Ask for less: a WHERE that keeps fewer rows, a LIMIT, or a join through an indexed column (id, run_id)."
        case .notFound, .checksumMismatch, .notReadOnly, .invalidArgument, .database:
            return error.description
        }
    }

    /// What to do about a client certificate libpq could not use.
    static func clientCertificate(_ problem: ClientCertificateProblem) -> String {
        switch problem {
        case .required:
            "Give the certificate and its key with ?sslcert=FILE&sslkey=FILE in the URL (or PGSSLCERT and PGSSLKEY); libpq looks for ~/.postgresql/postgresql.crt and postgresql.key by default."
        case .certificateUnusable:
            "sslcert (or PGSSLCERT) must name the client certificate, in PEM, readable by you."
        case .keyMissing:
            "Give the key's path with ?sslkey=FILE in the URL (or PGSSLKEY); by default libpq looks for ~/.postgresql/postgresql.key."
        case .keyTooOpen(let path):
            "Make it readable by you alone: `chmod 600 \(path)`."
        case .keyUnusable(let path):
            "sslkey (or PGSSLKEY) must name the PEM private key of the certificate in sslcert, readable by you (`ls -l \(path)` shows its owner and mode)."
        }
    }

    static func dataset(_ error: DatasetError) -> String {
        switch error {
        case .missingFile(let name, let directory):
            "Cannot find \(name).gz (or \(name)) in \(directory); --data must name a "
                + "directory holding the four MNIST IDX files."
        default:
            error.description
        }
    }

    static func training(_ error: TrainingError) -> String {
        switch error {
        case .unknownRun:
            return "\(error) `mnistlab runs` lists the runs."
        case .noRecordedEpoch(let id):
            return
                "\(error) `mnistlab resume \(id)` restarts it from where it began (with a smaller --learning-rate if it diverged)."
        case .noSuchEpoch, .noCheckpoint:
            return error.description
        case .nothingAfter:
            return "\(error) Pass a larger --epochs (a total, as in train)."
        case .otherDataset:
            return "\(error) Pass --data with the original files."
        case .batchLargerThanTrainingSet(_, let images):
            return "\(error) Pass a --batch-size of at most \(images)."
        case .minDeltaWithoutPatience(nil):
            return "--min-delta only counts for early stopping: pass --patience N (from 1) with it, or leave it out."
        case .minDeltaWithoutPatience:
            return "\(error) Pass --patience N (from 1) with --min-delta, or leave --min-delta out."
        case .unknownArchitecture, .checkpointShape, .imageWidth, .unknownSchedule,
            .scheduleFloorAboveRate:
            return error.description
        }
    }

    /// 64, bad input, for a value given on the command line that could only be checked once
    /// the data or the store was reached; nil leaves argument-parser's code (64 for what it
    /// refuses while parsing, 1 for any other failure).
    static func exitCode(for error: any Error) -> ExitCode? {
        let badInput: Bool =
            switch error {
            case let error as MNISTLabError: error.isBadInput
            case let error as StoreError: [.emptyPath, .badURL, .badSearch].contains(error.kind)
            case let error as TrainingError:
                switch error {
                case .batchLargerThanTrainingSet, .minDeltaWithoutPatience: true
                default: false
                }
            case let error as DatasetError:
                switch error {
                case .validationSizeOutOfRange, .trainLimitOutOfRange: true
                default: false
                }
            default: false
            }
        return badInput ? .validationFailure : nil
    }
}
