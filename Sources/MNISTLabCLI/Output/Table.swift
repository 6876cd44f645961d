#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Rows of text printed as aligned columns: numbers right-aligned, text left-aligned, each
/// cell padded by the columns it takes on a terminal (a CJK character or an emoji takes two).
/// On a terminal the header is bold; piped output is plain. Control and format characters in
/// a cell (a newline or U+202E in a name stored by another program) are escaped, so each row
/// stays one line, in order.
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
            ([columns[c]] + rows.map { $0[c] }).map(\.displayWidth).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.indices.map { c in
                let pad = String(repeating: " ", count: widths[c] - cells[c].displayWidth)
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
    /// Control and format characters written as escapes: a newline as `\n`, a tab as `\t`, a
    /// carriage return as `\r`, any other as `\u{1b}` or `\u{202e}`; other text unchanged.
    /// The one rule for text printed to a terminal, where those would move the cursor, recolor
    /// or reorder what follows.
    var controlCharactersEscaped: String {
        guard unicodeScalars.contains(where: { Check.isControl($0) || Check.isFormat($0) })
        else { return self }
        var escaped = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\t": escaped += "\\t"
            case "\r": escaped += "\\r"
            case _ where Check.isControl(scalar) || Check.isFormat(scalar):
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

extension String {
    /// The columns the text takes on a terminal: two for each wide character (CJK, Hangul,
    /// fullwidth forms, emoji shown as pictures), none for a combining mark, one for any other
    /// character (a grapheme cluster: an emoji sequence joined by U+200D counts once).
    var displayWidth: Int {
        var width = 0
        for character in self {
            let scalars = character.unicodeScalars
            guard let first = scalars.first else { continue }
            let properties = first.properties
            if properties.isEmojiPresentation
                || (properties.isEmoji && scalars.contains("\u{FE0F}"))
                || Self.isWide(first.value)
            {
                width += 2
            } else if ![.nonspacingMark, .enclosingMark, .format].contains(
                properties.generalCategory)
            {
                width += 1
            }
        }
        return width
    }

    /// East Asian Wide and Fullwidth ranges (Unicode's EastAsianWidth.txt, W and F), which
    /// Swift's Unicode properties do not expose.
    private static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E,
            0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
            0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1B000...0x1B2FF,
            0x1F200...0x1F2FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            true
        default:
            false
        }
    }
}

extension Unicode.Scalar {
    /// "U+202E": how Unicode names a code point, for messages.
    var codePoint: String {
        let digits = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
