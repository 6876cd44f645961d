import Foundation
import TestSupport
import Testing

/// Names, tags and notes as a terminal shows them: columns aligned by the width each
/// character takes, and nothing that reorders or hides the text around it.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct TerminalTextTests {
    /// Columns a terminal gives `text`: two for the CJK characters and emoji used here.
    func columns(_ text: Substring) -> Int {
        text.reduce(0) { $0 + ("日本語中文😀🧪".contains($1) ? 2 : 1) }
    }

    @Test func runsColumnsAlignWithWideCharactersInNames() throws {
        // Given runs named in Japanese, in emoji and in ASCII
        let sandbox = try Sandbox()
        for name in ["日本語", "😀🧪x", "plain", "中文"] {
            #expect(try sandbox.train(["--epochs", "1", "--name", name]).status == 0)
        }

        // When they are listed
        let output = try sandbox.run(["runs"])
        #expect(output.status == 0, "\(output.stderr)")

        // Then the status column starts at the same terminal column on every row
        let starts = output.lines.map { line in
            columns(line[..<(line.range(of: "completed") ?? line.range(of: "status"))!.lowerBound])
        }
        #expect(Set(starts).count == 1, "\(output.stdout)")
    }

    @Test(.enabled(if: sqlite3Program != nil, "needs the sqlite3 program to store a name mnistlab refuses"))
    func formatCharactersStoredByAnotherProgramAreEscaped() throws {
        // Given a run renamed by another program to a name with a right-to-left override
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "1"])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(sqlite3Program))
        process.arguments = [
            sandbox.database, "UPDATE runs SET name = 'report' || char(8238) || 'lmth.exe'",
        ]
        try process.run()
        process.waitForExit()
        #expect(process.terminationStatus == 0)

        // Then every command that prints it to a terminal prints the escape, not the override
        for command in [["runs"], ["show", "1"], ["best", "1"]] {
            let output = try sandbox.run(command)
            #expect(!output.stdout.contains("\u{202E}"), "\(command)")
            #expect(output.stdout.contains("report\\u{202e}lmth.exe"), "\(command): \(output.stdout)")
        }
    }

    @Test func joinersAndMultiLineNotesAreKept() throws {
        // Given a family emoji (joined by U+200D) in a name, and a note of two lines
        let sandbox = try Sandbox()
        let family = "👨\u{200D}👩\u{200D}👧"
        #expect(try sandbox.train(["--epochs", "1", "--name", family]).status == 0)
        #expect(try sandbox.run(["note", "1", "first line\nsecond line"]).status == 0)

        // Then both are stored as given, and shown on one line each
        let show = try sandbox.run(["show", "1"])
        #expect(show.lines.first?.hasSuffix("1 (\(family))") == true, "\(show.stdout)")
        #expect(show.lines.contains { $0.hasSuffix("first line\\nsecond line") }, "\(show.stdout)")
    }
}

/// The sqlite3 program, where it is installed.
let sqlite3Program = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}
