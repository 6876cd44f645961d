import Reports

/// Number formatting shared by the tables, with no locale surprises.
enum Format {
    /// "1 run", "2 runs": a count with its noun, plural unless it is one.
    static func count(_ n: Int, _ noun: String) -> String {
        "\(n) \(noun)\(n == 1 ? "" : "s")"
    }

    /// `0.97123` → "97.12%".
    static func percent(_ fraction: Double?) -> String {
        guard let fraction else { return "-" }
        return fixed(fraction * 100, digits: 2) + "%"
    }

    /// Reports' `fixed`: the terminal, the report and the dashboard round alike (printf's rule).
    static func fixed(_ value: Double?, digits: Int) -> String {
        value.map { Reports.fixed($0, digits) } ?? "-"
    }

    static func loss(_ value: Double?) -> String { fixed(value, digits: 4) }

    static func seconds(_ value: Double?) -> String { fixed(value, digits: 2) + "s" }

    /// A seed as `--seed` takes it: the store keeps the UInt64 seed's Int64 bit pattern, so
    /// 18446744073709551615 is stored as -1 and shown as given.
    static func seed(_ stored: Int64) -> String { String(UInt64(bitPattern: stored)) }

    /// Shortest text that reads back as the same Double ("0.1", "1e-05").
    static func number(_ value: Double) -> String { "\(value)" }

    /// As `number`, but a whole number without its ".0" ("0", "0.9"), as a user types it.
    static func typed(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : number(value)
    }

    /// `963764224` → "919.12 MiB".
    static func mebibytes(_ bytes: Int64) -> String {
        fixed(Double(bytes) / 1_048_576, digits: 2) + " MiB"
    }

    /// `963764224` → "919.12 MiB (963,764,224 bytes)".
    static func bytes(_ bytes: Int64) -> String {
        var digits = String(bytes.magnitude)
        var grouped = ""
        while digits.count > 3 {
            grouped = "," + digits.suffix(3) + grouped
            digits.removeLast(3)
        }
        return mebibytes(bytes) + " (\(bytes < 0 ? "-" : "")\(digits)\(grouped) bytes)"
    }
}
