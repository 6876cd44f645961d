-- 0013_trial_jobs.sql: the batch-scheduler job (Slurm) of the worker that holds or last held
-- each trial, beside its host and pid (trials.worker), so that `mnistlab sweeps ID` can say
-- which job and array task trains each trial, and a failed or given-back trial can be traced
-- to its job's log.
-- 2026-12-06

-- All NULL for a worker started outside a batch job. A claim writes all four (NULL where the
-- claiming worker has none); giving the trial back or settling it leaves them, so a settled
-- trial still names the job that settled it.
ALTER TABLE trials ADD COLUMN job_id INTEGER;         -- SLURM_JOB_ID
ALTER TABLE trials ADD COLUMN array_job_id INTEGER;   -- SLURM_ARRAY_JOB_ID (sbatch's %A)
ALTER TABLE trials ADD COLUMN array_task_id INTEGER;  -- SLURM_ARRAY_TASK_ID (sbatch's %a)
ALTER TABLE trials ADD COLUMN node TEXT;              -- SLURMD_NODENAME
