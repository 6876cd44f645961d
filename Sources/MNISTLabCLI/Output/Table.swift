#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Rows of text printed as aligned columns: numbers right-aligned, text left-aligned.
/// On a terminal the header is bold; piped output is plain. Control characters in a cell
/// (a newline in a name stored by another program) are escaped, so each row stays one line.
struct Table {
    var columns: [String]
    var rows: [[String]] = []
    /// Columns to right-align (numbers).
    var numeric: Set<Int> = []

    init(_ columns: [String], numeric: Set<Int> = []) {
        self.columns = columns
        self.numeric = numeric
    }

    mutating func append(_ row: [String]) { rows.append(row) }

    func render(styled: Bool = Terminal.isInteractive) -> String {
        let columns = columns.map(\.controlCharactersEscaped)
        let rows = rows.map { $0.map(\.controlCharactersEscaped) }
        let widths = columns.indices.map { c in
            ([columns[c]] + rows.map { $0[c] }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.indices.map { c in
                let pad = String(repeating: " ", count: widths[c] - cells[c].count)
                return numeric.contains(c) ? pad + cells[c] : cells[c] + pad
            }.joined(separator: "  ").trailingSpacesRemoved
        }
        let header = line(columns)
        let body = rows.map(line)
        return ([styled ? Terminal.bold(header) : header] + body).joined(separator: "\n")
    }
}

enum Terminal {
    /// True when standard output is a terminal (not a pipe or file).
    static let isInteractive = isatty(STDOUT_FILENO) == 1

    static func bold(_ text: String) -> String { "\u{1B}[1m\(text)\u{1B}[0m" }
}

extension String {
    /// Control characters written as escapes: a newline as `\n`, a tab as `\t`, a carriage
    /// return as `\r`, any other as `\u{1b}`; other text unchanged.
    var controlCharactersEscaped: String {
        guard unicodeScalars.contains(where: Check.isControl) else { return self }
        var escaped = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case "\r": escaped += "\\r"
            case _ where Check.isControl(scalar):
                escaped += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    var trailingSpacesRemoved: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
