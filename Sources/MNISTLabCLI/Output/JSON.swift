import Foundation
import Reports

/// Prints `value` as pretty JSON with sorted keys, for scripts.
func printJSON(_ value: some Encodable) throws {
    print(try jsonText(value))
}

/// `value` as `printJSON` prints it: Reports' `prettyJSON`, which also holds the one
/// encoding of a run_summary row, shared with the dashboard's API.
func jsonText(_ value: some Encodable) throws -> String {
    try prettyJSON(value)
}
