import Foundation
import TestSupport
import Testing

/// One stored double reads the same in the terminal and on a page: `show`, `runs` and the HTML
/// report share Reports' `fixed` (printf's rounding of the exact binary value).
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct NumberTextAgreementTests {
    @Test func aStoredLossReadsTheSameInShowAndTheReport() throws {
        // Given a run whose first validation loss is stored as 0.10035 (0.100349999… in binary,
        // which printf rounds down to 0.1003, where rounding the scaled product gave 0.1004)
        let sandbox = try Sandbox()
        try sandbox.train(["--epochs", "1"])
        let update = Process()
        update.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        update.arguments = ["sqlite3", sandbox.database, "UPDATE epochs SET val_loss = 0.10035"]
        try update.run()
        update.waitForExit()
        try #require(update.terminationStatus == 0, "sqlite3 could not write the fixture")

        // When the terminal and the report show it
        let show = try sandbox.run(["show", "1"])
        let report = try sandbox.run(["report", "1", "-o", "-"])

        // Then both write 0.1003 and neither 0.1004
        #expect(show.status == 0 && report.status == 0, "\(show.stderr)\(report.stderr)")
        for text in [show.stdout, report.stdout] {
            #expect(text.contains("0.1003") && !text.contains("0.1004"))
        }
    }
}
