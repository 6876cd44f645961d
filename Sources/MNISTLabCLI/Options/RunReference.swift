import ArgumentParser
import Store

/// A run as a command line names it: its id, or its uid or a unique prefix of it (at least
/// four characters), so that a run is named the same way in every store it was imported into.
/// Digits alone are an id.
enum RunReference: Equatable {
    case id(Int64)
    case uidPrefix(String)

    /// The help of a run argument.
    static let help = "Id of the run, or its uid or a unique prefix of the uid."

    /// As `@Argument(transform:)` takes it.
    static func parse(_ text: String) throws -> RunReference {
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let id = Int64(text) {
            return .id(id)
        }
        let uid = text.lowercased()
        guard (4...36).contains(uid.count), uid.allSatisfy({ $0.isHexDigit || $0 == "-" }),
            !uid.allSatisfy({ $0.isASCII && $0.isNumber })
        else {
            throw ValidationError(
                "a run is its id (a whole number from 1), or its uid or a unique prefix of the uid (4 to 36 hexadecimal digits and dashes)")
        }
        return .uidPrefix(uid)
    }

    /// The run's id in `store`: an id as given (whether it exists is the command's to find),
    /// a uid prefix as the one run whose uid starts with it.
    func id(in store: Store) throws -> Int64 {
        switch self {
        case .id(let id):
            return id
        case .uidPrefix(let prefix):
            let matches = try store.runs(uidPrefix: prefix)
            guard let first = matches.first else {
                throw MNISTLabError(
                    "No run's uid starts with \(prefix) in this database; `mnistlab runs --json` lists each run's uid.")
            }
            guard matches.count == 1 else {
                let candidates = matches.map { "run \($0.id) (\($0.uid))" }
                throw MNISTLabError.badInput(
                    "The uid prefix \(prefix) matches \(matches.count) runs: \(candidates.joined(separator: ", ")); give more of the uid, or the id.")
            }
            return first.id
        }
    }
}

extension Store {
    /// The ids of `runs`, in order (`RunReference.id(in:)`).
    func ids(_ runs: [RunReference]) throws -> [Int64] { try runs.map { try $0.id(in: self) } }
}
