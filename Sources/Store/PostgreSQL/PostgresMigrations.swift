/// PostgreSQL's schema history: every `Migrations/postgres/NNNN_name.pg.sql` file, in order,
/// with the same numbers and names as SQLite's. As with `Migrations.all`, SwiftPM compiles
/// each file into a byte array and gives no list of them, so the list lives here and
/// `embeddedMigrationsMatchFilesOnDisk` keeps it honest.
enum PostgresMigrations {
    /// Append-only: a new file gets the next number, and committed files never change.
    static let all: [Migration] = [
        Migration(1, "0001_init", PackageResources._001_init_pg_sql),
        Migration(2, "0002_run_summary_view", PackageResources._002_run_summary_view_pg_sql),
        Migration(3, "0003_evaluations", PackageResources._003_evaluations_pg_sql),
        Migration(4, "0004_sweeps", PackageResources._004_sweeps_pg_sql),
        Migration(
            5, "0005_leases_and_run_stats", PackageResources._005_leases_and_run_stats_pg_sql),
        Migration(6, "0006_training_controls", PackageResources._006_training_controls_pg_sql),
        Migration(7, "0007_run_management", PackageResources._007_run_management_pg_sql),
        Migration(8, "0008_trials", PackageResources._008_trials_pg_sql),
        Migration(9, "0009_run_uids", PackageResources._009_run_uids_pg_sql),
        Migration(10, "0010_run_stats_metrics", PackageResources._010_run_stats_metrics_pg_sql),
        Migration(11, "0011_liveness", PackageResources._011_liveness_pg_sql),
        Migration(
            12, "0012_typed_trial_settings", PackageResources._012_typed_trial_settings_pg_sql),
        Migration(13, "0013_trial_jobs", PackageResources._013_trial_jobs_pg_sql),
        Migration(14, "0014_asha_rungs", PackageResources._014_asha_rungs_pg_sql),
        Migration(15, "0015_live_trial_status", PackageResources._015_live_trial_status_pg_sql),
    ]
}
