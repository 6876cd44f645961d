import ArgumentParser
import Foundation
import MNISTLabCLI
import Testing
import TestSupport

/// The README and `docs/*.md` kept correct (the convention is in docs/README.md): every
/// `mnistlab …` command they show parses with the real argument parser, and every `console`
/// example runs against a fresh store and prints what the page shows.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct DocsTests {
    @Test func everyCommandShownInTheDocsParses() throws {
        let commands = try DocPage.all().flatMap(\.commands)
        // The extractor must find the pages' commands, or this test would pass on nothing.
        #expect(commands.count > 60, "only \(commands.count) commands found in the docs")
        for command in commands {
            do {
                _ = try MNISTLab.parseAsRoot(Array(command.words.dropFirst()))
            } catch where MNISTLab.exitCode(for: error) == .success {
                continue  // `--help`, `--version`
            } catch {
                let words = command.words.joined(separator: " ")
                Issue.record(
                    "\(command.location): `\(words)` does not parse: \(MNISTLab.message(for: error))")
            }
        }
    }

    @Test func consoleExamplesPrintWhatTheDocsShow() throws {
        let pages = try DocPage.all().filter { !$0.consoleSteps.isEmpty }
        #expect(!pages.isEmpty, "no console example found in the docs")
        for page in pages {
            // Given a fresh store on the small MNIST subset, per page
            let sandbox = try Sandbox()
            for step in page.consoleSteps {
                // When the page's commands run in order
                let output = try sandbox.run(Array(step.words.dropFirst()))
                // Then each prints what the page shows, up to timings, dates and kernel path
                let printed = output.stdout + output.stderr
                let shown = DocPage.normalized(step.expected)
                let got = DocPage.normalized(printed)
                let words = step.words.joined(separator: " ")
                #expect(
                    got == shown,
                    "\(step.location): `\(words)` printed\n\(printed)\nbut the page shows\n\(step.expected)")
                if got != shown { break }  // later steps depend on this one
            }
        }
    }

    @Test func commandsAreReadFromShellLinesAsTheShellSplitsThem() {
        let line = """
            MNISTLAB_DB='postgres://a@b/c' mnistlab sql "SELECT 1 -- x" --json | head -2 # note
            """
        #expect(DocPage.commands(inShellLine: line) == [["mnistlab", "sql", "SELECT 1 -- x", "--json", "--db", "postgres://a@b/c"]])
        #expect(
            DocPage.commands(
                inShellLine: #"for f in n*.sqlite; do mnistlab import "$f" --db a.sqlite; done"#)
                == [["mnistlab", "import", "$f", "--db", "a.sqlite"]])
        #expect(
            DocPage.commands(inShellLine: "mnistlab export 2 > run2.csv 2>&1 &")
                == [["mnistlab", "export", "2"]])
        #expect(
            DocPage.commands(inShellLine: "mnistlab import x --db backup-$(date +%F).sqlite")
                == [["mnistlab", "import", "x", "--db", "backup-$(date +%F).sqlite"]])
        #expect(DocPage.commands(inShellLine: "sqlite3 mnistlab.sqlite 'SELECT 1'").isEmpty)
        #expect(
            DocPage.commands(inShellLine: "swift run -c release mnistlab train --epochs 20")
                == [["mnistlab", "train", "--epochs", "20"]])
        #expect(DocPage.inlineCommands("`mnistlab note` sets it; `mnistlab rm RUN…` removes")
            == [["mnistlab", "note", "--help"]])
    }

    @Test func normalizingKeepsEverythingButTimingsDatesAndKernelPath() {
        #expect(
            DocPage.normalized("epoch 1  loss 2.3139  0.003s\ncreated 2026-12-06T01:11:13.366Z avx2")
                == DocPage.normalized("epoch 1 loss 2.3139 12.5s\ncreated 2025-01-01T00:00:00Z avx512"))
        #expect(DocPage.normalized("loss 2.3139") != DocPage.normalized("loss 2.3140"))
    }
}

/// One Markdown page's `mnistlab` commands and console examples.
struct DocPage {
    struct Command {
        var location: String
        var words: [String]
    }

    struct ConsoleStep {
        var location: String
        var words: [String]
        var expected: String
    }

    var commands: [Command] = []
    var consoleSteps: [ConsoleStep] = []

    /// README.md and every page in docs/.
    static func all() throws -> [DocPage] {
        let docs = repositoryRoot.appendingPathComponent("docs")
        let pages = try FileManager.default.contentsOfDirectory(atPath: docs.path)
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/\($0)" }
        return try (["README.md"] + pages).map { name in
            let text = try String(
                contentsOf: repositoryRoot.appendingPathComponent(name), encoding: .utf8)
            return DocPage(name: name, text: text)
        }
    }

    init(name: String, text: String) {
        let lines = text.components(separatedBy: "\n")
        var fence: String?  // the open block's language
        var exported: String?  // `export MNISTLAB_DB=…` earlier in the block
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let number = index + 1
            index += 1
            if line.hasPrefix("```") {
                fence = fence == nil ? String(line.dropFirst(3)) : nil
                exported = nil
                continue
            }
            guard let language = fence else {
                for words in Self.inlineCommands(line) {
                    commands.append(Command(location: "\(name):\(number)", words: words))
                }
                continue
            }
            guard ["sh", "bash", "console"].contains(language) else { continue }
            var logical = line
            while logical.hasSuffix("\\"), index < lines.count {
                logical = String(logical.dropLast()) + " " + lines[index]
                index += 1
            }
            let isPrompt = logical.hasPrefix("$ ")
            if language == "console" && !isPrompt { continue }  // output, read with its command
            if logical.hasPrefix("export MNISTLAB_DB=") {
                exported = Self.commands(inShellLine: "\(logical.dropFirst(7)) mnistlab").first?.last
            }
            let found = Self.commands(inShellLine: isPrompt ? String(logical.dropFirst(2)) : logical)
                .map { $0.contains("--db") || exported == nil ? $0 : $0 + ["--db", exported!] }
            guard language == "console", let words = found.first else {
                commands += found.map { Command(location: "\(name):\(number)", words: $0) }
                continue
            }
            var output: [String] = []
            while index < lines.count, !lines[index].hasPrefix("$ "), !lines[index].hasPrefix("```") {
                output.append(lines[index])
                index += 1
            }
            let expected = output.map { $0 + "\n" }.joined()
            consoleSteps.append(
                ConsoleStep(location: "\(name):\(number)", words: words, expected: expected))
            // An example of refused input shows its error, which running it checks.
            if !expected.hasPrefix("Error: ") {
                commands.append(Command(location: "\(name):\(number)", words: words))
            }
        }
    }

    /// `` `mnistlab …` `` in prose, unless it holds a placeholder (`RUN`, `[…]`, `…`, `<x>`).
    static func inlineCommands(_ line: String) -> [[String]] {
        // (Statements of their own, each typed: as one chain this took seconds to type-check.)
        let spans: [String] = line.components(separatedBy: "`").enumerated()
            .filter { $0.offset % 2 == 1 && $0.element.hasPrefix("mnistlab ") }
            .map(\.element)
        func isPlaceholder(_ word: Substring) -> Bool {
            !word.isEmpty && word.allSatisfy { $0.isUppercase || $0 == "_" }
        }
        let runnable: [String] = spans.filter { span in
            !span.contains(where: { "[]…<>|".contains($0) })
                && !span.split(separator: " ").contains(where: isPlaceholder)
        }
        let found: [[String]] = runnable.flatMap { commands(inShellLine: $0) }
        // `mnistlab note` in prose names a command: that it exists is what can be checked.
        return found.map { $0.count == 2 ? $0 + ["--help"] : $0 }
    }

    /// The `mnistlab` commands in one shell line, split into words as the shell would:
    /// quotes removed, `$(…)` kept in its word, comments, redirections and other programs
    /// dropped; leading `VAR=value` assignments and `do` skipped.
    static func commands(inShellLine line: String) -> [[String]] {
        var segments: [[String]] = [[]]
        var word: String?
        var quote: Character?
        var depth = 0  // inside $( … )
        var characters = Array(line)[...]
        func endWord() {
            if let w = word { segments[segments.count - 1].append(w) }
            word = nil
        }
        while let c = characters.popFirst() {
            if let q = quote {
                if c == q { quote = nil } else { word = (word ?? "") + String(c) }
            } else if depth > 0 {
                word = (word ?? "") + String(c)
                if c == "(" { depth += 1 } else if c == ")" { depth -= 1 }
            } else if c == "'" || c == "\"" {
                quote = c
                word = word ?? ""
            } else if c == "$" && characters.first == "(" {
                characters.removeFirst()
                word = (word ?? "") + "$("
                depth = 1
            } else if c == " " || c == "\t" {
                endWord()
            } else if c == "#" && word == nil {
                break
            } else if "|;&".contains(c) {
                endWord()
                if !(segments.last ?? []).isEmpty { segments.append([]) }
            } else if c == ">" || c == "<" {
                // A redirection: drop any fd number before it and the target after it.
                if let w = word, w.allSatisfy(\.isNumber) { word = nil }
                endWord()
                if characters.first == "&" { characters.removeFirst() }
                while characters.first == " " { characters.removeFirst() }
                while let next = characters.first, !" |;&".contains(next) {
                    characters.removeFirst()
                }
            } else {
                word = (word ?? "") + String(c)
            }
        }
        endWord()
        return segments.compactMap { segment in
            // `MNISTLAB_DB=URL mnistlab …` is `mnistlab … --db URL` to the parser.
            let database = segment.prefix { isAssignment($0) || $0 == "do" || $0 == "then" }
                .first { $0.hasPrefix("MNISTLAB_DB=") }.map { String($0.dropFirst(12)) }
            var words = segment.drop { $0 == "do" || $0 == "then" || isAssignment($0) }
            if words.starts(with: ["swift", "run"]) {  // `swift run -c release mnistlab …`
                words = words.drop { $0 != "mnistlab" }
            }
            guard words.first == "mnistlab", !words.contains("…") else { return nil }
            return Array(words) + (database.map { ["--db", $0] } ?? [])
        }
    }

    private static func isAssignment(_ word: String) -> Bool {
        guard let equals = word.firstIndex(of: "="), equals != word.startIndex else { return false }
        return word[..<equals].allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }

    /// What may differ between runs replaced, on both sides: timings, dates, the kernel path,
    /// and runs of spaces (a column's width follows its widest value).
    static func normalized(_ text: String) -> String {
        let rules: [(String, String)] = [
            (#"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?Z?"#, "<date>"),
            (#"\b\d+(\.\d+)? ?(ms|s)\b"#, "<time>"),
            (#"\b(avx512|avx2|scalar)\b"#, "<kernel>"),
            (#"[ \t]+"#, " "),
            (#" ?\n"#, "\n"),
        ]
        return rules.reduce(text) { text, rule in
            text.replacingOccurrences(of: rule.0, with: rule.1, options: .regularExpression)
        }.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
