import Foundation
import Store
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
        // The store read in this process: a look takes milliseconds, where `mnistlab sql` (a
        // process and a connection) can take as long as a trial here on a busy machine.
        let store = try Store.open(location: sandbox.database, readOnly: true)
        defer { try? store.close() }
        func look(_ sql: String) throws -> [String] {
            try store.query(sql).rows.map { $0.map(\.description).joined(separator: ",") }
        }
        /// Freezes (SIGSTOP) array task `task`'s worker inside a trial, with 3 epochs of it
        /// committed and half of them still to train, so that a stop sent then lands inside
        /// that trial; that trial's number and the worker's pid. A trial here lasts about a
        /// second, so the worker is held still rather than raced: frozen once it was seen
        /// training, then looked at again, and thawed to try again if its trial left that span
        /// between the two looks.
        func freezeInsideATrial(_ task: Int, within seconds: Double) throws -> (trial: String, pid: pid_t)? {
            let inside = """
                SELECT t.number, r.pid FROM trials t
                JOIN run_stats s ON s.run_id = t.run_id JOIN runs r ON r.id = t.run_id
                WHERE t.status = 'running' AND t.array_job_id = \(array) AND t.array_task_id = \(task)
                  AND s.epochs_done BETWEEN 3 AND \(Self.epochs / 2)
                """
            var frozen: (trial: String, pid: pid_t)?
            _ = try waitUntil(seconds, "task \(task) trains a trial") {
                guard let seen = try look(inside).first,
                    let pid = seen.split(separator: ",").last.flatMap({ pid_t($0) })
                else { return false }
                kill(pid, SIGSTOP)
                if try waitUntil(10, "task \(task)'s worker \(pid) stops", { (try? ProcessSnapshot(pid))?.isStopped == true }),
                    try look(inside).first == seen
                {
                    frozen = (String(seen.prefix { $0 != "," }), pid)
                    return true
                }
                kill(pid, SIGCONT)
                return false
            }
            return frozen
        }
        /// Runs the Slurm command that stops the frozen worker `pid`, then thaws the worker
        /// once its SIGTERM is pending (or Slurm thawed it, as it does with a SIGCONT first).
        func stop(_ pid: pid_t, with command: String, _ arguments: [String]) throws {
            try cluster.run(command, arguments)
            _ = try waitUntil(60, "Slurm signals worker \(pid)") {
                let worker = try? ProcessSnapshot(pid)
                return worker?.isPending(SIGTERM) != false || worker?.isStopped == false
            }
            kill(pid, SIGCONT)
        }
        func queued(_ state: String? = nil) throws -> [String] {
            try cluster.queue().filter { state == nil || $0.hasSuffix(" \(state!)") }
        }

        // When each task is held inside a trial, then task 1 cancelled and task 2 requeued
        // (held both, since a task left training would finish the sweep's six short trials
        // while the test deals with the other)
        try #require(try waitUntil(300, "both tasks train") {
            try look("SELECT count(DISTINCT array_task_id) FROM trials WHERE status = 'running'") == ["2"]
        })
        let cancelled = try #require(try freezeInsideATrial(1, within: 120))
        // (well inside the 30-s lease of the trial task 1 holds, frozen)
        let requeued = try #require(try freezeInsideATrial(2, within: 15))
        try stop(cancelled.pid, with: "scancel", ["\(array)_1"])
        try stop(requeued.pid, with: "scontrol", ["requeue", "\(array)_2"])

        // Then each gives its trial back; task 1 ends, and task 2 is queued again (and let
        // start again soon, rather than after Slurm's hold on requeued jobs: a second on,
        // since slurmd refuses a credential issued in the same second as the requeue revoked
        // the last one: "Job credential revoked", exit 1 before the script runs)
        try #require(try waitUntil(60, "task 1 gives its trial back") {
            log(1).contains("trial \(cancelled.trial) is pending again")
        }, "\(log(1))")
        try #require(try waitUntil(60, "task 2 gives its trial back") {
            log(2).contains("trial \(requeued.trial) is pending again")
        }, "\(log(2))")
        try #require(try waitUntil(60, "task 1 ends") { try !queued().contains { $0.hasPrefix("\(array)_1 ") } })
        try #require(try waitUntil(60, "task 2 is queued again") { try !queued("PENDING").isEmpty })
        try cluster.run("scontrol", ["update", "JobId=\(array)_2", "StartTime=now+1"])

        // Then the requeued task finishes the sweep: exit 0 after one restart
        try #require(
            try waitUntil(600, "the job array ends") { try queued().isEmpty },
            "\(log(2))\n\(cluster.logTail())")
        let task2 = try cluster.job("\(array)_2")
        #expect(
            task2["JobState"] == "COMPLETED" && task2["ExitCode"] == "0:0" && task2["Restarts"] == "1",
            "\(task2)\n\(cluster.logTail())")
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
        for number in [cancelled.trial, requeued.trial] {
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
