/// The one source of timestamps written by the Store.
import Foundation

/// ISO-8601 UTC with milliseconds, the format of every timestamp column:
/// "2026-11-25T08:22:13.123Z" (the same text as `strftime('%Y-%m-%dT%H:%M:%fZ','now')`).
enum Timestamp {
    static func now() -> String {
        Date.now.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
