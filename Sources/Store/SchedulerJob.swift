/// The batch-scheduler job a worker runs in, recorded on the trials it claims beside its host
/// and pid (`trials.job_id`, `array_job_id`, `array_task_id`, `node`; migration 0013), so that
/// a trial can be traced to the job, the array task and the log file that trained it.

/// A Slurm job as its environment describes it: `SLURM_JOB_ID`, `SLURM_ARRAY_JOB_ID`,
/// `SLURM_ARRAY_TASK_ID` and `SLURMD_NODENAME`.
public struct SchedulerJob: Sendable, Equatable {
    /// The job's own id (each task of an array has its own).
    public var jobID: Int64?
    /// The array's id, shared by its tasks (`%A` in sbatch's file patterns).
    public var arrayJobID: Int64?
    /// The task's index in the array (`%a`).
    public var arrayTaskID: Int64?
    /// The node the job runs on, as Slurm names it.
    public var node: String?

    public init(
        jobID: Int64? = nil, arrayJobID: Int64? = nil, arrayTaskID: Int64? = nil,
        node: String? = nil
    ) {
        self.jobID = jobID
        self.arrayJobID = arrayJobID
        self.arrayTaskID = arrayTaskID
        self.node = node
    }

    /// The job `environment` describes; nil outside a Slurm job (no `SLURM_JOB_ID`). A value
    /// that is not a number is left out rather than trusted.
    public init?(environment: [String: String]) {
        guard let job = environment["SLURM_JOB_ID"].flatMap({ Int64($0) }) else { return nil }
        jobID = job
        arrayJobID = environment["SLURM_ARRAY_JOB_ID"].flatMap { Int64($0) }
        arrayTaskID = environment["SLURM_ARRAY_TASK_ID"].flatMap { Int64($0) }
        node = environment["SLURMD_NODENAME"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// How Slurm's commands name the job: `ARRAYJOB_TASK` for an array task (what `scancel`
    /// and `scontrol requeue` take, and sbatch's `%A_%a`), else the job id; with the node.
    public var label: String {
        let job =
            if let arrayJobID, let arrayTaskID { "\(arrayJobID)_\(arrayTaskID)" } else {
                jobID.map(String.init) ?? "?"
            }
        return node.map { "\(job) on \($0)" } ?? job
    }
}
