import ArgumentParser
import Foundation
import Store

extension MNISTLab {
    struct SQL: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sql",
            abstract: "Run a read-only SQL query on the database and print the rows.",
            usage: "mnistlab sql <statement> [--csv] [--json] [--db <db>]",
            discussion: """
                The database is opened read-only: INSERT, UPDATE, DELETE, ATTACH and writing \
                PRAGMAs are refused. On PostgreSQL the statement runs alone in a read-only \
                transaction with a \(Timeouts.text(Timeouts.sqlStatement))-second timeout, and can write no file on the server \
                (see docs/sharing.md). Tables: runs, epochs, \
                checkpoints, evaluations, confusion, sweeps, trials, run_tags, run_stats, \
                schema_migrations; views: run_summary, class_accuracy (see docs/database.md).

                Every column is printed in SELECT order. In --json, a repeated column name \
                gets _2, _3, … (the first keeps its name), NaN and infinities are null; a blob \
                is its bytes in hexadecimal, as SQL's hex() writes them, in every format.

                Examples:
                  mnistlab sql "SELECT id, best_epoch, best_val_loss FROM run_summary ORDER BY best_val_loss"
                  mnistlab sql "SELECT epoch, val_loss FROM epochs WHERE run_id = 1" --csv > curve.csv
                """)

        // Collects what is not a flag of this command, so that a statement starting with a
        // `-- comment` line is not taken for an unknown flag.
        @Argument(parsing: .allUnrecognized, help: "One SQL statement (in quotes).")
        var statement: [String] = []

        var query: String { statement.first ?? "" }

        @Flag(name: .long, help: "Print comma-separated values with a header line.")
        var csv = false

        @OptionGroup var output: OutputOptions
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            if csv && output.json { throw ValidationError("Choose one of --csv and --json.") }
            if statement.isEmpty { throw ValidationError("Give one SQL statement, in quotes.") }
            // An unknown flag is collected with the statement: name it as argument-parser would.
            if statement.count > 1,
                let flag = statement.first(where: {
                    $0.hasPrefix("-") && !$0.contains(where: \.isWhitespace)
                })
            {
                throw ValidationError("Unknown option '\(flag)'")
            }
            if statement.count > 1 {
                let parts = statement.map(Check.quoted).joined(separator: ", ")
                throw ValidationError(
                    "Give the SQL statement as one argument, in quotes; got \(statement.count): \(parts).")
            }
        }

        func run() throws {
            let result = try database.openForReading().query(query)
            if output.json { return print(jsonRows(result)) }
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

    /// As sqlite3 prints it in list mode, except a blob: NULL is empty, a blob is its bytes
    /// in hexadecimal as SQL's hex() writes them.
    var plainText: String {
        switch self {
        case .null: ""
        case .integer(let i): String(i)
        case .real(let d): String(d)
        case .text(let s): s
        case .blob(let b): hex(b)
        }
    }

    var tableText: String {
        if case .null = self { return "NULL" }
        return plainText
    }
}

/// Upper-case hexadecimal, two digits a byte, as SQLite's hex() writes a blob.
func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789ABCDEF".utf8)
    var text = [UInt8]()
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// The rows as a JSON array of objects, written by hand so that every column keeps its
/// place in SELECT order and none is lost: a repeated name gets _2, _3, … (the first keeps
/// its name). Numbers as themselves (NaN and infinities as null), text as strings, a blob as
/// its hexadecimal, NULL as null; laid out as `printJSON` lays out its objects.
func jsonRows(_ result: QueryResult) -> String {
    // The columns' own names are never given to a repeat: in `x, x, x_2`, the second x
    // becomes x_3.
    var keys: [String] = []
    var taken = Set(result.columns)
    var seen = Set<String>()
    for column in result.columns {
        if seen.insert(column).inserted {
            keys.append(column)
            continue
        }
        var n = 2
        while taken.contains("\(column)_\(n)") { n += 1 }
        taken.insert("\(column)_\(n)")
        keys.append("\(column)_\(n)")
    }
    guard !result.rows.isEmpty else { return "[\n\n]" }
    let objects = result.rows.map { row in
        let fields = zip(keys, row).map { key, value in
            "    \(jsonString(key)) : \(jsonValue(value))"
        }
        return "  {\n" + fields.joined(separator: ",\n") + "\n  }"
    }
    return "[\n" + objects.joined(separator: ",\n") + "\n]"
}

private func jsonValue(_ value: SQLValue) -> String {
    switch value {
    case .null: "null"
    case .integer(let i): String(i)
    case .real(let d): d.isFinite ? String(d) : "null"
    case .text(let s): jsonString(s)
    case .blob(let b): jsonString(hex(b))
    }
}

/// `text` as a JSON string: quotes, backslashes and control characters escaped.
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let digits = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
