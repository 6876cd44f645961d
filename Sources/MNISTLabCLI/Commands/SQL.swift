import ArgumentParser
import Foundation
import Store

extension MNISTLab {
    struct SQL: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sql",
            abstract: "Run a read-only SQL query on the database and print the rows.",
            discussion: """
                The database is opened read-only: INSERT, UPDATE, DELETE, ATTACH and writing \
                PRAGMAs are refused. Tables: runs, epochs, checkpoints, evaluations, \
                confusion, sweeps, schema_migrations; views: run_summary, class_accuracy (see \
                README.md).

                Examples:
                  mnistlab sql "SELECT id, best_epoch, best_val_loss FROM run_summary ORDER BY best_val_loss"
                  mnistlab sql "SELECT epoch, val_loss FROM epochs WHERE run_id = 1" --csv > curve.csv
                """)

        @Argument(help: "One SQL statement.")
        var query: String

        @Flag(name: .long, help: "Print comma-separated values with a header line.")
        var csv = false

        @OptionGroup var output: OutputOptions
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if csv && output.json { throw ValidationError("Choose one of --csv and --json.") }
        }

        func run() throws {
            let result = try database.openForReading().query(query)
            if output.json {
                let objects = result.rows.map { row in
                    Dictionary(uniqueKeysWithValues: zip(result.columns, row.map(JSONValue.init)))
                }
                return try printJSON(objects)
            }
            if csv {
                print(result.columns.map(csvField).joined(separator: ","))
                for row in result.rows { print(row.map { csvField($0.plainText) }.joined(separator: ",")) }
                return
            }
            var table = Table(result.columns)
            for row in result.rows { table.append(row.map(\.tableText)) }
            if let first = result.rows.first {
                table.numeric = Set(first.indices.filter { first[$0].isNumber })
            }
            print(table.render())
        }
    }
}

/// RFC 4180: quote fields holding a comma, quote or line break; double inner quotes.
func csvField(_ text: String) -> String {
    guard text.contains(where: { ",\"\n\r".contains($0) }) else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

extension SQLValue {
    var isNumber: Bool {
        switch self {
        case .integer, .real: true
        default: false
        }
    }

    /// As sqlite3 prints it in list mode: NULL is empty, a blob is its size.
    var plainText: String {
        switch self {
        case .null: ""
        case .integer(let i): String(i)
        case .real(let d): String(d)
        case .text(let s): s
        case .blob(let b): "<\(b.count)-byte blob>"
        }
    }

    var tableText: String {
        if case .null = self { return "NULL" }
        return plainText
    }
}

/// A cell as JSON: numbers, strings and null as themselves, a blob as base64.
private struct JSONValue: Encodable {
    let value: SQLValue

    init(_ value: SQLValue) { self.value = value }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch value {
        case .null: try c.encodeNil()
        case .integer(let i): try c.encode(i)
        case .real(let d): try d.isFinite ? c.encode(d) : c.encode(String(d))
        case .text(let s): try c.encode(s)
        case .blob(let b): try c.encode(Data(b).base64EncodedString())
        }
    }
}
