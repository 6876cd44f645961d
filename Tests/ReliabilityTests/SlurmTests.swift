import Foundation
import TestSupport
import Testing

/// A sweep trained by a Slurm job array on a real single-node Slurm (TestSupport's
/// SlurmCluster) against a throwaway PostgreSQL: one task cancelled and the other requeued
/// while they train, and still every trial ends once, with the weights of one worker
/// training the grid alone.
@Suite(
    .blocksItsThread, .timeLimit(.minutes(10)),
    .serialized,
    .enabled(if: SlurmCluster.isAvailable, "\(SlurmCluster.unavailableReason ?? "")"),
    .enabled(if: PostgresServer.isAvailable, "\(PostgresServer.unavailableReason)"))
struct SlurmTests {
    /// Six trials, each long enough (some seconds) to be stopped while it trains.
    static let grid = [
        "sweep", "--learning-rate", "0.05,0.1,0.2", "--seed", "1,2", "--hidden", "256",
        "--epochs", "\(epochs)", "--val-size", "200", "--batch-size", "50", "--keep-every", "1000",
    ]
    static let epochs = 60

    /// Each trial's number, status and final weights, the grid trained by one worker on
    /// SQLite (`WorkerTests.outcome`).
    static func serial() throws -> [String] {
        let sandbox = try Sandbox()
        #expect(try sandbox.run(grid + ["--detach"]).status == 0)
        let worker = try sandbox.run(["worker"])
        #expect(worker.status == 0, "\(worker.stderr)")
        return try WorkerTests.outcome(sandbox)
    }

    @Test func jobArrayTrainsEveryTrialOnceThroughCancelAndRequeue() throws {
        // Given a Slurm cluster, a PostgreSQL store, and the sweep's script for 2 array
        // tasks, written and submitted
        let cluster = try SlurmCluster()
        defer { cluster.stop() }
        let sandbox = try Sandbox(.postgres)
        let file = sandbox.path("sweep.sbatch")
        let refused = try sandbox.run(
            Self.grid + ["--slurm", "2", "--submit", "--slurm-option=--partition=nosuch"],
            environment: cluster.environment)
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("Error: sbatch refuses the job script: ") && refused.stderr.hasSuffix(". Nothing was created.\n"), "\(refused.stderr)")
        let submitted = try sandbox.run(
            Self.grid + ["--slurm", "2", "-o", file, "--submit"], environment: cluster.environment)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        #expect(submitted.stdout.hasPrefix("sweep 1: 6 trials of \(Self.epochs) epochs for a Slurm job array of 2 workers: submitted batch job "), "\(submitted.stdout)")
        let array = String(
            submitted.stdout.components(separatedBy: "submitted batch job ").last?
                .prefix { $0.isNumber } ?? "")
        try #require(!array.isEmpty, "\(submitted.stdout)")
        #expect(try sandbox.run(["-n", file], executable: "/bin/bash").status == 0)
        #expect(throws: Never.self) { try cluster.run("sbatch", ["--test-only", file]) }
        func log(_ task: Int) -> String {
            (try? String(contentsOfFile: sandbox.path("mnistlab-sweep-1-\(array)_\(task).out"), encoding: .utf8)) ?? ""
        }
        /// The trial array task `task` holds, once it has committed 3 epochs and while it has
        /// half of them still to train: a stop sent now lands inside that trial however slow
        /// the machine (its remaining epochs slow down with it), not after its last epoch.
        func trainingTrial(_ task: Int) throws -> String? {
            try sandbox.rows(
                """
                SELECT t.number FROM trials t JOIN run_stats s ON s.run_id = t.run_id
                WHERE t.status = 'running' AND t.array_job_id = \(array) AND t.array_task_id = \(task)
                  AND s.epochs_done BETWEEN 3 AND \(Self.epochs / 2)
                """
            ).first
        }
        func queued(_ state: String? = nil) throws -> [String] {
            try cluster.queue().filter { state == nil || $0.hasSuffix(" \(state!)") }
        }

        // When task 1 is cancelled while its trial trains
        var cancelled: String?
        try #require(try waitUntil(120, "task 1 trains a trial") { cancelled = try trainingTrial(1); return cancelled != nil })
        try cluster.run("scancel", ["\(array)_1"])

        // Then it gives its trial back and exits
        try #require(try waitUntil(60, "task 1 gives its trial back") {
            log(1).contains("trial \(cancelled ?? "?") is pending again")
        }, "\(log(1))")
        try #require(try waitUntil(60, "task 1 ends") { try !queued().contains { $0.hasPrefix("\(array)_1 ") } })

        // When task 2 is requeued while its trial trains (and let start again at once,
        // rather than after Slurm's hold on requeued jobs)
        var requeued: String?
        try #require(try waitUntil(300, "task 2 trains a trial") { requeued = try trainingTrial(2); return requeued != nil })
        try cluster.run("scontrol", ["requeue", "\(array)_2"])
        try #require(try waitUntil(60, "task 2 gives its trial back") {
            log(2).contains("trial \(requeued ?? "?") is pending again")
        }, "\(log(2))")
        try #require(try waitUntil(60, "task 2 is queued again") { try !queued("PENDING").isEmpty })
        try cluster.run("scontrol", ["update", "JobId=\(array)_2", "StartTime=now"])

        // Then the requeued task finishes the sweep: exit 0 after one restart
        try #require(try waitUntil(600, "the job array ends") { try queued().isEmpty }, "\(log(2))")
        let task2 = try cluster.job("\(array)_2")
        #expect(task2["JobState"] == "COMPLETED" && task2["ExitCode"] == "0:0" && task2["Restarts"] == "1", "\(task2)")
        #expect(log(2).contains("array task 2 on \(cluster.node), restart 1"), "\(log(2))")

        // And every trial completed once, with one run each that nothing holds, and the
        // weights of one worker training the grid alone
        #expect(try sandbox.rows("SELECT count(*) FROM runs WHERE sweep_id = 1") == ["6"])
        #expect(try sandbox.rows("SELECT count(*) FROM runs WHERE status <> 'completed' OR owner_token IS NOT NULL") == ["0"])
        #expect(
            try sandbox.rows(
                """
                SELECT t.number, count(*), max(e.epoch) FROM trials t
                JOIN epochs e ON e.run_id = t.run_id GROUP BY t.number ORDER BY t.number
                """) == (1...6).map { "\($0),\(Self.epochs),\(Self.epochs)" })
        for number in [cancelled, requeued].compactMap({ $0 }) {
            #expect(try sandbox.rows("SELECT count(*) FROM trials WHERE number = \(number) AND attempts >= 2") == ["1"])
        }
        #expect(try WorkerTests.outcome(sandbox) == Self.serial())

        // And `sweeps 1` names the job and task that settled each trial
        let shown = try sandbox.run(["sweeps", "1"])
        #expect(shown.lines.contains { $0.contains("completed") && $0.contains("\(array)_2 on \(cluster.node)") }, "\(shown.stdout)")
    }

    /// Polls `condition` every 100 ms for up to `seconds`; false (with `what` in the failure)
    /// when it never held.
    private func waitUntil(_ seconds: Double, _ what: String, _ condition: () throws -> Bool) throws -> Bool {
        if try eventually(within: seconds, every: 0.1, condition) { return true }
        Issue.record("waited \(Int(seconds)) s for: \(what)")
        return false
    }
}
