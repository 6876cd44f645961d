import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// `kill -9` at random instants: whatever the instant, the database stays whole, nothing
/// committed is lost, the run shows `interrupted`, and resuming it ends bit for bit where an
/// uninterrupted run ends.
@Suite(.blocksItsThread, .timeLimit(.minutes(10)), .serialized) struct CrashTests {
    /// Where a kill was aimed.
    enum Aim: CaseIterable {
        /// Within half a second of the start: process start, data load, run creation.
        case startup
        /// Once the run is announced, within about an epoch's time: before its first commit.
        case firstEpoch
        /// Anywhere in what remains of the run.
        case anywhere
        /// The moment the process is seen writing the write-ahead log (a commit).
        case commit
    }

    /// Where a kill landed, judged afterwards from the database.
    struct Tally: CustomStringConvertible {
        var beforeRunRow = 0
        var beforeFirstEpoch = 0
        var midRun = 0
        var afterCompletion = 0
        var aimedAtCommit = 0
        var chains = 0
        /// Killed before their first epoch and not resumable until the Session fix lands.
        var abandoned = 0

        var description: String {
            "\(beforeRunRow) before the run row, \(beforeFirstEpoch) before its first epoch, "
                + "\(midRun) mid-run, \(afterCompletion) too late (run had completed); "
                + "\(aimedAtCommit) fired on a WAL write; \(chains) runs, \(abandoned) left unresumable"
        }
    }

    @Test func sigkillAtRandomInstantsLosesNothingAndResumesExactly() throws {
        let kills = stress ? 200 : 20
        let killsPerRun = 5
        var random = SeededRandom(seed: 0x5EED_0001)
        let sandbox = try Sandbox()
        let expected = reference
        var tally = Tally()
        var killed = 0

        while killed < kills {
            // Given a run that is killed, resumed, killed again… up to five times
            tally.chains += 1
            var runID: Int64?
            for _ in 0..<min(killsPerRun, kills - killed) {
                if let runID, try sandbox.status(runID: runID) == "completed" { break }
                killed += 1
                let context = "kill \(killed)"
                let done = try runID.map { id in
                    Int(try sandbox.value("SELECT count(*) FROM epochs WHERE run_id = \(id)") ?? "0") ?? 0
                } ?? 0
                let newestBefore = try sandbox.newestRunID() ?? 0
                let arguments = runID.map { ["resume", "\($0)"] } ?? Plan.train

                // When it is killed at a random instant
                let process = try Background(sandbox, arguments, label: "kill-\(killed)")
                let aim = Aim.allCases.randomElement(using: &random)!
                aimAndWait(aim, process: process, database: sandbox.database,
                           remainingEpochs: Plan.epochs - done, seconds: expected.secondsPerEpoch,
                           random: &random)
                if aim == .commit { tally.aimedAtCommit += 1 }
                let landed = process.send(SIGKILL)
                let ending = process.wait()

                // Then the database is whole and the run is shown interrupted
                if runID == nil, let newest = try sandbox.newestRunID(), newest > newestBefore {
                    runID = newest
                }
                if !landed || ending == .exit(0) {
                    // Too late: it had finished (a kill can still reach an exiting process).
                    #expect(ending == .exit(0), "\(context): \(ending) \(process.stderr)")
                    tally.afterCompletion += 1
                } else {
                    #expect(ending == .signal(SIGKILL), "\(context): \(ending) \(process.stderr)")
                    if runID == nil {
                        tally.beforeRunRow += 1
                    } else if try sandbox.value(
                        "SELECT count(*) FROM epochs WHERE run_id = \(runID!)") == "0"
                    {
                        tally.beforeFirstEpoch += 1
                    } else {
                        tally.midRun += 1
                    }
                }
                try expectConsistentAfterCrash(sandbox, runID: runID, context: context)

                // A run killed before its first epoch must resume too (from its start)
                if let id = runID, try sandbox.value("SELECT count(*) FROM epochs WHERE run_id = \(id)") == "0" {
                    var resumed = false
                    do {
                        let output = try sandbox.run(["resume", "\(id)"])
                        #expect(output.status == 0, "\(context): \(output.stderr)")
                        resumed = output.status == 0
                    }
                    if !resumed {
                        tally.abandoned += 1
                        runID = nil
                    }
                }
            }

            // And resuming it (or training, if no run row was made) completes it exactly
            let finished: Output
            if let runID {
                if try sandbox.status(runID: runID) == "completed" {
                    finished = try sandbox.run(["sql", "SELECT 1"])
                } else {
                    finished = try sandbox.run(["resume", "\(runID)"])
                }
            } else {
                finished = try sandbox.run(Plan.train)
                runID = try sandbox.newestRunID()
            }
            #expect(finished.status == 0, "run \(runID ?? -1): \(finished.stderr)")
            guard let runID else { continue }
            #expect(try sandbox.status(runID: runID) == "completed")
            #expect(try sandbox.finalWeights(runID: runID) == expected.weights, "run \(runID)")
            #expect(try sandbox.metrics(runID: runID) == expected.metrics, "run \(runID)")
        }
        let unfinished = try sandbox.rows(
            "SELECT id, status, (SELECT count(*) FROM epochs e WHERE e.run_id = r.id) FROM runs r WHERE status <> 'completed'")
        #expect(unfinished.count == tally.abandoned, "runs not completed (id, status, epochs): \(unfinished)")
        print("CrashTests: \(kills) SIGKILLs over \(Plan.epochs)-epoch runs: \(tally)")
    }

    /// Sleeps (or watches the WAL) until the moment chosen for the kill.
    func aimAndWait(
        _ aim: Aim, process: Background, database: String, remainingEpochs: Int, seconds: Double,
        random: inout SeededRandom
    ) {
        switch aim {
        case .startup:
            usleep(UInt32(Double.random(in: 0...0.5, using: &random) * 1e6))
        case .firstEpoch:
            _ = process.waitForLines("run ")
            usleep(UInt32(Double.random(in: 0...(1.2 * seconds), using: &random) * 1e6))
        case .anywhere:
            let span = Double(remainingEpochs + 1) * seconds
            usleep(UInt32(Double.random(in: 0...span, using: &random) * 1e6))
        case .commit:
            // Skip a random number of writes, then fire on the next one.
            var wal = WALWatcher(database: database)
            var skip = Int.random(in: 0..<max(remainingEpochs, 1), using: &random)
            _ = process.wait {
                guard wal.changed() else { return false }
                skip -= 1
                return skip < 0
            }
        }
    }
}
