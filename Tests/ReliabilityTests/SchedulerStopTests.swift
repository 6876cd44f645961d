import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A worker stopped by a batch scheduler (SIGTERM: time limit, preemption, `scancel`,
/// `scontrol requeue`; SIGUSR1: `sbatch --signal`) gives its trial back and exits 0, and the
/// job it runs in is recorded on the trials it holds. No Slurm needed: the signals and the
/// environment are what Slurm gives a job.
extension WorkerTests {
    /// What Slurm exports to task 2 of array job 41 (its own job id 43) on node7.
    static let slurmTask = [
        "SLURM_JOB_ID": "43", "SLURM_ARRAY_JOB_ID": "41", "SLURM_ARRAY_TASK_ID": "2",
        "SLURMD_NODENAME": "node7",
    ]

    @Test(arguments: Sandbox.Store.all, [SIGTERM, SIGUSR1])
    func schedulerStopGivesTheTrialBackAndExitsZero(store: Sandbox.Store, signal: Int32) throws {
        // Given a worker in a Slurm job, in the middle of its first trial
        let sandbox = try Sandbox(store)
        #expect(try sandbox.run(Self.grid + ["--detach"]).status == 0)
        let first = try Background(sandbox, ["worker"], label: "first", environment: Self.slurmTask)
        #expect(first.waitForLines("epoch ", count: 3), "\(first.stderr)")

        // When the scheduler stops it
        first.send(signal)

        // Then it exits 0 with the trial pending again and its run interrupted
        #expect(first.wait() == .exit(0), "\(first.stderr)")
        #expect(first.stdout.contains("run 1 interrupted; trial 1 is pending again"), "\(first.stdout)")
        #expect(try sandbox.rows("SELECT t.status, r.status FROM trials t JOIN runs r ON r.id = t.run_id")
            == ["pending,interrupted"])

        // And the trial names the job and task that held it, as `sweeps 1` shows
        #expect(try sandbox.rows("SELECT job_id, array_job_id, array_task_id, node FROM trials WHERE number = 1")
            == ["43,41,2,node7"])
        let shown = try sandbox.run(["sweeps", "1"])
        #expect(shown.lines.contains { $0.contains("pending") && $0.contains("41_2 on node7") }, "\(shown.stdout)")

        // And a worker outside any job continues that same run exactly, and the trials it
        // settles name no job
        let next = try sandbox.run(["worker"])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(next.stdout.contains("resumed after epoch"), "\(next.stdout)")
        try expectEveryTrialTrainedOnce(sandbox)
        #expect(try sandbox.rows("SELECT count(*) FROM trials WHERE job_id IS NULL AND node IS NULL") == ["3"])
        let json = try sandbox.run(["sweeps", "1", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let trials = object?["trials"] as? [[String: Any]] ?? []
        #expect(trials.count == 3 && trials.allSatisfy { ($0["array_task_id"] ?? NSNull()) is NSNull }, "\(json.stdout)")
    }
}
