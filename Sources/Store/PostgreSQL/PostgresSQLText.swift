/// PostgreSQL statement text read just far enough to tell code from quoted text: to turn the
/// store's `?`/`?N` placeholders into `$N`, to cut a migration file into statements (the
/// extended protocol runs one at a time), and to find the words `sql`'s guard looks at.
///
/// Quoted regions are '…' strings (E'…' with backslash escapes), "…" identifiers, $tag$…$tag$
/// bodies, -- and nested /* */ comments. Not handled: SQL-standard function bodies
/// (BEGIN ATOMIC … END), whose inner semicolons would split the statement.
enum PostgresSQLText {
    enum Region: Equatable {
        case code, string, identifier, dollarQuoted, comment
    }

    /// Calls `body` with each region of `bytes` in order; together they cover every byte.
    static func regions(_ bytes: [UInt8], _ body: (Region, Range<Int>) -> Void) {
        var i = 0
        var codeStart = 0
        let n = bytes.count
        func flushCode(_ end: Int) {
            if end > codeStart { body(.code, codeStart..<end) }
        }
        while i < n {
            let byte = bytes[i]
            let start = i
            var region: Region?
            switch byte {
            case UInt8(ascii: "'"):
                // E'…' (or e'…') treats backslash as an escape; a plain '…' does not.
                let escapes = i > 0 && (bytes[i - 1] | 0x20) == UInt8(ascii: "e")
                    && (i < 2 || !isIdentifierByte(bytes[i - 2]))
                i = endOfQuoted(bytes, from: i + 1, quote: byte, backslashEscapes: escapes)
                region = .string
            case UInt8(ascii: "\""):
                i = endOfQuoted(bytes, from: i + 1, quote: byte, backslashEscapes: false)
                region = .identifier
            case UInt8(ascii: "-") where i + 1 < n && bytes[i + 1] == UInt8(ascii: "-"):
                while i < n && bytes[i] != UInt8(ascii: "\n") { i += 1 }
                region = .comment
            case UInt8(ascii: "/") where i + 1 < n && bytes[i + 1] == UInt8(ascii: "*"):
                var depth = 0
                while i < n {
                    if bytes[i] == UInt8(ascii: "/"), i + 1 < n, bytes[i + 1] == UInt8(ascii: "*") {
                        depth += 1
                        i += 2
                    } else if bytes[i] == UInt8(ascii: "*"), i + 1 < n,
                        bytes[i + 1] == UInt8(ascii: "/")
                    {
                        depth -= 1
                        i += 2
                        if depth == 0 { break }
                    } else {
                        i += 1
                    }
                }
                region = .comment
            case UInt8(ascii: "$") where i == 0 || !isIdentifierByte(bytes[i - 1]):
                if let tagEnd = dollarTagEnd(bytes, from: i) {
                    let tag = Array(bytes[i...tagEnd])
                    i = tagEnd + 1
                    while i < n && !bytes[i...].starts(with: tag) { i += 1 }
                    i = min(n, i + tag.count)
                    region = .dollarQuoted
                } else {
                    i += 1
                }
            default:
                i += 1
            }
            if let region {
                flushCode(start)
                body(region, start..<i)
                codeStart = i
            }
        }
        flushCode(n)
    }

    /// The store's placeholders in PostgreSQL's form: each `?` becomes `$1`, `$2`… in order
    /// and `?N` becomes `$N`. Quoted text and comments are copied as they are.
    static func numberedPlaceholders(_ sql: String) -> String {
        let bytes = Array(sql.utf8)
        guard bytes.contains(UInt8(ascii: "?")) else { return sql }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var next = 1
        regions(bytes) { region, range in
            guard region == .code else {
                out.append(contentsOf: bytes[range])
                return
            }
            var i = range.lowerBound
            while i < range.upperBound {
                let byte = bytes[i]
                i += 1
                guard byte == UInt8(ascii: "?") else {
                    out.append(byte)
                    continue
                }
                out.append(UInt8(ascii: "$"))
                if i < range.upperBound && isDigit(bytes[i]) {
                    while i < range.upperBound && isDigit(bytes[i]) {
                        out.append(bytes[i])
                        i += 1
                    }
                } else {
                    out.append(contentsOf: String(next).utf8)
                    next += 1
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The statements of a script, split at the semicolons outside quotes and comments,
    /// without those that hold only comments and space.
    static func statements(_ sql: String) -> [String] {
        let bytes = Array(sql.utf8)
        var statements: [String] = []
        var start = 0
        var hasCode = false
        func cut(_ end: Int) {
            if hasCode { statements.append(String(decoding: bytes[start..<end], as: UTF8.self)) }
            start = end + 1
            hasCode = false
        }
        regions(bytes) { region, range in
            guard region == .code else {
                if region != .comment { hasCode = true }
                return
            }
            for i in range {
                if bytes[i] == UInt8(ascii: ";") {
                    cut(i)
                } else if !isSpace(bytes[i]) {
                    hasCode = true
                }
            }
        }
        if start < bytes.count { cut(bytes.count) }
        return statements
    }

    /// A word of code as `sql`'s guard reads it: a keyword or name, lower-cased unless it
    /// was quoted.
    struct Word: Equatable {
        let text: String
        /// Written `U&"…"` or `U&'…'`, whose escapes can spell any name.
        var unicodeEscaped = false
    }

    /// The names and keywords of `sql`, in order: unquoted words lower-cased, "quoted" ones
    /// as written; strings, numbers, operators and comments left out.
    static func words(_ sql: String) -> [Word] {
        let bytes = Array(sql.utf8)
        var words: [Word] = []
        regions(bytes) { region, range in
            switch region {
            case .code:
                var i = range.lowerBound
                while i < range.upperBound {
                    guard isIdentifierStart(bytes[i]) else {
                        i += 1
                        continue
                    }
                    let start = i
                    while i < range.upperBound && isIdentifierByte(bytes[i]) { i += 1 }
                    words.append(Word(text: String(decoding: bytes[start..<i], as: UTF8.self).lowercased()))
                }
            case .identifier:
                let inner = bytes[(range.lowerBound + 1)..<max(range.lowerBound + 1, range.upperBound - 1)]
                let text = String(decoding: inner, as: UTF8.self)
                    .replacingOccurrences(of: "\"\"", with: "\"")
                let escaped = range.lowerBound >= 2 && bytes[range.lowerBound - 1] == UInt8(ascii: "&")
                    && (bytes[range.lowerBound - 2] | 0x20) == UInt8(ascii: "u")
                if escaped, words.last?.text == "u" { words.removeLast() }
                words.append(Word(text: text, unicodeEscaped: escaped))
            case .string, .dollarQuoted, .comment:
                break
            }
        }
        return words
    }

    // MARK: - Bytes

    private static func endOfQuoted(
        _ bytes: [UInt8], from start: Int, quote: UInt8, backslashEscapes: Bool
    ) -> Int {
        var i = start
        while i < bytes.count {
            if backslashEscapes && bytes[i] == UInt8(ascii: "\\") {
                i += 2
            } else if bytes[i] == quote {
                // A doubled quote stands for one and does not end the text.
                if i + 1 < bytes.count && bytes[i + 1] == quote {
                    i += 2
                } else {
                    return i + 1
                }
            } else {
                i += 1
            }
        }
        return bytes.count
    }

    /// The index of the `$` closing a dollar-quote tag opened at `start` (`$$`, `$body$`);
    /// nil for a parameter (`$1`) or a lone `$`.
    private static func dollarTagEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var i = start + 1
        if i < bytes.count && isDigit(bytes[i]) { return nil }
        while i < bytes.count && isIdentifierByte(bytes[i]) && bytes[i] != UInt8(ascii: "$") {
            i += 1
        }
        return i < bytes.count && bytes[i] == UInt8(ascii: "$") ? i : nil
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == 0x0C
    }

    /// Letters, `_`, and every byte of a non-ASCII character, as PostgreSQL's scanner.
    private static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            || byte == UInt8(ascii: "_") || byte >= 0x80
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        isIdentifierStart(byte) || isDigit(byte) || byte == UInt8(ascii: "$")
    }
}
