import Testing
import TestSupport

/// The help text is part of the interface: pinned here in full, so that any change to it
/// shows up as a diff in review (COLUMNS is unset by the Sandbox, so lines wrap at 80).
@Suite(.blocksItsThread, .timeLimit(.minutes(10)))
struct HelpTests {
    @Test func rootHelpListsEverySubcommand() throws {
        let output = try Sandbox().run(["--help"])
        #expect(output.status == 0)
        #expect(output.stdout == rootHelp + "\n")
    }

    @Test func trainHelpShowsEveryOptionWithItsDefault() throws {
        let output = try Sandbox().run(["train", "--help"])
        #expect(output.status == 0)
        // A subcommand's help ends with a blank line, as argument-parser prints it.
        #expect(output.stdout == trainHelp + "\n\n")
    }

    @Test func resumeHelpSaysSettingsDefaultToTheRunsOwn() throws {
        let output = try Sandbox().run(["resume", "--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains(resumeSharedOptions), "\(output.stdout)")
        #expect(!output.stdout.contains("(default: 0.1)") && !output.stdout.contains("train default"))
    }
}

private let rootHelp = """
    OVERVIEW: Train an MLP on MNIST and track every run, epoch and checkpoint in
    SQLite or PostgreSQL.

    Runs are recorded in ./mnistlab.sqlite, or in the file or postgres:// URL given
    by --db or MNISTLAB_DB. Query them with the subcommands below or with plain
    SQL, e.g.
      sqlite3 mnistlab.sqlite "SELECT * FROM run_summary"
      psql postgres://lab@db.example/mnistlab -c "SELECT * FROM run_summary"

    USAGE: mnistlab <subcommand>

    OPTIONS:
      --version               Show the version.
      -h, --help              Show help information.

    SUBCOMMANDS:
      train                   Train the MLP on MNIST and record the run.
      resume                  Continue a run from its best, last or any kept epoch.
      sweep                   Train every combination of the given settings and
                              rank the runs.
      worker                  Claim and train a sweep's trials until the sweep has
                              nothing left to do.
      sweeps                  List sweeps with their trials' progress, or rank one
                              sweep's runs.
      runs                    List runs, newest first, with their key settings and
                              best epoch.
      show                    Show a run: its settings, lineage and every epoch,
                              the best one marked.
      best                    The best epoch of each run, or the best run overall.
      compare                 Compare runs side by side: the settings that differ,
                              best and last metrics.
      evaluate                Evaluate a run's checkpoint on the test set and
                              record the result.
      predict                 Classify images of handwritten digits with a run's
                              checkpoint or an ONNX file.
      report                  Write an HTML report of runs: learning curves,
                              settings, confusion matrices.
      serve                   Serve a live dashboard of the runs: tables, curves,
                              sweeps, a digit pad.
      export                  Export a run's per-epoch metrics with its
                              hyperparameters as CSV or JSON.
      export-weights          Write a checkpoint's weights to a raw little-endian
                              Float32 file.
      export-model            Write a checkpoint as an ONNX model or a safetensors
                              file.
      sql                     Run a read-only SQL query on the database and print
                              the rows.
      tag                     Add tags to runs.
      untag                   Remove tags from runs.
      note                    Set a run's note: why it was started, or what it
                              showed.
      rename                  Rename a run.
      rm                      Delete runs with their epochs, checkpoints,
                              evaluations and tags.
      prune                   Delete checkpoints beyond those a run keeps.
      import                  Copy every run of another store into this one.
      db                      Inspect, upgrade or compact the database file.
      bench                   Time training epochs, the store and the same epoch in
                              numpy, side by side.

      See 'mnistlab help <subcommand>' for detailed help.
    """

private let trainHelp = """
    OVERVIEW: Train the MLP on MNIST and record the run.

    Prints one line per epoch and the run id. Each epoch's metrics and checkpoint
    are committed together, so Ctrl-C (or a crash) leaves a run you can resume.

    Examples:
      mnistlab train --epochs 20
      mnistlab train --epochs 1000 --name seed-reproduction
      mnistlab train --hidden 256,128 --activation relu --momentum 0.9
      mnistlab train --epochs 1000 --patience 50 --weight-decay 1e-4
      mnistlab train --lr-schedule step:100:0.5 --min-learning-rate 0.001

    USAGE: mnistlab train <options>

    OPTIONS:
      --db <path-or-url>      SQLite file or postgres:// URL that holds the runs
                              (default: $MNISTLAB_DB, else ./mnistlab.sqlite).
      --epochs <epochs>       Last epoch to train to, counted from 1 (default:
                              1000).
      --learning-rate <learning-rate>
                              Learning rate for SGD (default: 0.1).
      --batch-size <batch-size>
                              Examples per mini-batch (default: 200).
      --momentum <momentum>   SGD momentum in [0, 1) (default: 0).
      --keep-every <keep-every>
                              Keep a checkpoint every N epochs, besides the best
                              and the last (default: 50).
      --name <name>           A name for the run (default: run-<id>).
      --patience <patience>   Stop after N epochs without improvement in validation
                              loss; 0 turns it off (default: off).
      --min-delta <min-delta> Decrease in validation loss that counts as an
                              improvement for --patience (default: 0).
      --lr-schedule <lr-schedule>
                              Learning-rate schedule: constant, step:EVERY:FACTOR,
                              cosine or plateau:PATIENCE:FACTOR (default: constant).
      --min-learning-rate <min-learning-rate>
                              Floor of the step and plateau schedules, end point of
                              cosine (default: 0).
      --weight-decay <weight-decay>
                              L2 weight decay on the weights (not the biases),
                              inside the SGD update (default: 0).
      --hidden <hidden>       Hidden layer widths, e.g. 100 or 256,128. (default:
                              100)
      --activation <activation>
                              Activation of the hidden layers. (values: sigmoid,
                              relu, leaky-relu; default: sigmoid)
      --loss <loss>           Loss on the softmax output. (values: cross-entropy,
                              mse; default: cross-entropy)
      --seed <seed>           Seed for the initial weights and the per-epoch
                              shuffles (0 to 2^64 - 1). (default: 1)
      --data <data>           Directory with the four MNIST IDX files, .gz or raw
                              (default: $MNISTLAB_DATA, else ./Data/mnist, else
                              Data/mnist in a folder above the mnistlab binary).
      --val-size <val-size>   Training images held out, from the end, for
                              validation. (default: 10000)
      --train-limit <train-limit>
                              Train on the first N training images only (quick
                              runs).
      --version               Show the version.
      -h, --help              Show help information.
    """

/// The options resume shares with train, as resume words their defaults (the rest of its
/// help is its own).
private let resumeSharedOptions = """
      --epochs <epochs>       Last epoch to train to, counted from 1 (default: the
                              run's own).
      --learning-rate <learning-rate>
                              Learning rate for SGD (default: the run's own).
      --batch-size <batch-size>
                              Examples per mini-batch (default: the run's own).
      --momentum <momentum>   SGD momentum in [0, 1) (default: the run's own).
      --keep-every <keep-every>
                              Keep a checkpoint every N epochs, besides the best
                              and the last (default: the run's own).
      --name <name>           A name for a new run forked from this one (giving one
                              forks; default: run-<id>).
    """
