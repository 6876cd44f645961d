import ArgumentParser
import Foundation
import Numerics
import Store
import Sweeps
import Training

extension MNISTLab {
    struct Sweep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train every combination of the given settings and rank the runs.",
            discussion: """
                Each setting takes a comma-separated list; every combination becomes a run of \
                `mnistlab train` tagged with the sweep's id (runs.sweep_id). In --hidden, \
                commas separate networks and '-' separates the layers of one: 100,256-128 is a \
                100-unit network and a 256 → 128 one. At the end the sweep's runs are ranked \
                by best validation loss. --parallel N trains N runs at once, each its own \
                process writing to the same database (one at a time, the sweep trains them \
                itself). Ctrl-C stops every run cleanly (each is \
                marked interrupted, its trial pending), and `--resume ID` starts the workers \
                again. --slurm N writes (or with --submit, submits) an sbatch script whose N \
                array tasks are the sweep's workers.

                Examples:
                  mnistlab sweep --learning-rate 0.05,0.1,0.2 --hidden 100,300 --epochs 30
                  mnistlab sweep --activation sigmoid,relu --momentum 0,0.9 --parallel 2
                  mnistlab sweep --learning-rate 0.1,0.5 --seed 1,2,3 --train-limit 5000 --epochs 5
                  mnistlab sweep --weight-decay 0,1e-4,1e-3 --lr-schedule constant,cosine
                  mnistlab sweep --resume 3 --parallel 2
                  mnistlab sweep --learning-rate 0.05,0.1 --detach --slurm 4 -o sweep.sbatch
                """)

        // Lists are parsed `.unconditional`ly, so that `--learning-rate -1,0.1` reaches the
        // same checks as `train` instead of looking like a flag.
        @Option(name: .long, parsing: .unconditional, help: "Learning rates, e.g. 0.05,0.1,0.2.")
        var learningRate = Format.typed(Defaults.hyperparameters.learningRate)

        @Option(
            name: .long, parsing: .unconditional,
            help: "Hidden layer widths, e.g. 100,300 or 100,256-128.")
        var hidden = Defaults.hyperparameters.hiddenDescription.replacingOccurrences(
            of: ",", with: "-")

        @Option(
            name: .long,
            help: "Activations: \(Activation.allCases.map(\.rawValue).joined(separator: ", ")).")
        var activation = Defaults.hyperparameters.activation.rawValue

        @Option(
            name: .long, help: "Losses: \(Loss.allCases.map(\.rawValue).joined(separator: ", ")).")
        var loss = Defaults.hyperparameters.loss.rawValue

        @Option(name: .long, parsing: .unconditional, help: "SGD momenta in [0, 1), e.g. 0,0.9.")
        var momentum = Format.typed(Defaults.hyperparameters.momentum)

        @Option(name: .long, parsing: .unconditional, help: "Mini-batch sizes, e.g. 50,200.")
        var batchSize = "\(Defaults.hyperparameters.batchSize)"

        @Option(name: .long, parsing: .unconditional, help: "Seeds, e.g. 1,2,3.")
        var seed = "\(Defaults.hyperparameters.seed)"

        @Option(name: .long, parsing: .unconditional, help: "Epochs each run trains.")
        var epochs = Defaults.sweepEpochs

        @Option(
            name: .long, parsing: .unconditional,
            help: """
                Draw N trials at random instead of the full grid: --learning-rate, --hidden, \
                --momentum and --batch-size then also take ranges LOW:HIGH or LOW:HIGH:log.
                """)
        var random: Int?

        @Option(
            name: .long, parsing: .unconditional,
            help: """
                Search N trials with TPE (a Tree-structured Parzen Estimator): the first \
                --startup drawn as --random draws them, each later one proposed from the \
                trials finished so far. Takes the same ranges as --random.
                """)
        var tpe: Int?

        @Option(
            name: .long, parsing: .unconditional,
            help: "TPE's trials drawn at random before it models (default: \(TreeParzenEstimator.defaultStartup), at most N).")
        var startup: Int?

        @Option(
            name: .long, parsing: .unconditional,
            help: "Seed of the random draws: the same command draws the same trials.")
        var sampleSeed: UInt64 = 1

        @Option(
            name: .long, parsing: .unconditional,
            help: """
                Keep a checkpoint every N epochs, besides the best and the last \
                (default: \(Defaults.keepEvery)).
                """)
        var keepEvery: Int?

        @Option(
            name: .long, parsing: .unconditional,
            help: "Local workers to start, each training one trial at a time in its own process.")
        var parallel = 1

        @Flag(
            name: .long,
            help: "Only create the sweep and its trials, print its id and exit; `mnistlab worker` trains them.")
        var detach = false

        @Option(
            name: .long, parsing: .unconditional,
            help: "Start --parallel workers again on sweep ID (after Ctrl-C), then rank it; no new trials.")
        var resume: Int64?

        @OptionGroup var slurm: SlurmOptions

        @Flag(
            name: .long,
            help: """
                Stop weak trials early (ASHA): each pauses at rungs of --min-epochs × \
                --reduction-factor^k epochs, and only the best 1/η of those at a rung go on, \
                continuing exactly where they paused. With --patience, early stopping still \
                ends a trial whose loss stops improving.
                """)
        var asha = false

        @Option(
            name: .long, parsing: .unconditional,
            help: "ASHA's first rung, in epochs (default: max(1, ⌊epochs / η³⌋)).")
        var minEpochs: Int?

        @Option(
            name: .long, parsing: .unconditional,
            help: """
                ASHA's η: a rung promotes the best ⌊n/η⌋ of the n trials that reached it \
                (default: \(RungLadder.defaultReductionFactor)).
                """)
        var reductionFactor: Int?

        @OptionGroup var controls: SweepControlOptions
        @OptionGroup var dataOptions: DataOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var database: DatabaseOptions

        /// Every value passes the checks `train` makes (the same functions), before anything
        /// is written: a sweep either starts whole or not at all.
        func validate() throws {
            if let random, !(1...1_000).contains(random) {
                throw ValidationError("--random must be from 1 to 1000; got \(random).")
            }
            try validateTPE()
            _ = try grid()
            try controls.validate(try controlGrid(), learningRates: try grid().learningRate)
            try Check.require(.epochs, epochs, Check.epochs(epochs))
            if let keepEvery {
                try Check.require(.keepEvery, keepEvery, Check.keepEvery(keepEvery))
            }
            if parallel < 1 {
                throw ValidationError("--parallel must be at least 1; got \(parallel).")
            }
            if slurm.tasks != nil, parallel != 1 || resume != nil {
                throw ValidationError("--parallel and --resume start local workers; with --slurm the job array's tasks are the workers.")
            }
            try slurm.validate(database)
            _ = try ladder()
        }

        /// --tpe and --startup checked, before the grids that use them.
        func validateTPE() throws {
            guard let tpe else {
                if startup != nil {
                    throw ValidationError("--startup sets how many of a TPE search's trials are drawn at random; add --tpe N.")
                }
                return
            }
            if random != nil {
                throw ValidationError("--tpe and --random are two ways to search; give one.")
            }
            if !(1...1_000).contains(tpe) {
                throw ValidationError("--tpe must be from 1 to 1000; got \(tpe).")
            }
            if let startup, !(1...tpe).contains(startup) {
                throw ValidationError("--startup must be from 1 to --tpe (\(tpe)); got \(startup).")
            }
        }

        /// TPE's start-up trials: --startup, else the default (at most --tpe).
        var startupTrials: Int { startup ?? min(TreeParzenEstimator.defaultStartup, tpe ?? 0) }

        /// ASHA's rungs when --asha is given, its options checked.
        func ladder() throws -> RungLadder? {
            guard asha else {
                if minEpochs != nil || reductionFactor != nil {
                    throw ValidationError(
                        "--min-epochs and --reduction-factor set ASHA's rungs; add --asha.")
                }
                return nil
            }
            do {
                return try RungLadder(
                    maxEpochs: epochs, minEpochs: minEpochs,
                    reductionFactor: reductionFactor ?? RungLadder.defaultReductionFactor)
            } catch .reductionFactorTooSmall(let eta) {
                throw ValidationError("--reduction-factor must be at least 2; got \(eta).")
            } catch .minEpochsNotPositive(let r) {
                throw ValidationError("--min-epochs must be at least 1; got \(r).")
            } catch .minEpochsNotBelowEpochs(let r, let e) {
                throw ValidationError(
                    minEpochs == nil
                        ? "--asha needs --epochs of at least 2, for a rung before the last; got \(e)."
                        : "--min-epochs must be below --epochs (\(e)), for a rung before the last; got \(r).")
            }
        }

        func run() throws {
            // The trials are the work: a line that can't be written stops none of them.
            StandardOutput.policy = .carryOn
            if let resume { return try resumeSweep(resume) }
            let plan = try plan()
            // The split every trial makes, made once here: a sweep whose runs could not start
            // is refused before anything is written, not found out trial by trial.
            let data = try plan.data.prepare()
            for batchSize in Set(plan.grid.combinations.map(\.batchSize) + tpeBatchSizes()).sorted() {
                try Session.requireBatchFits(batchSize, data.train)
            }
            try slurm.checkBeforeCreating(data: plan.data.directory, location: try database.location)
            let store = try database.openForWriting()
            // Closed explicitly so the WAL is folded back before the process exits.
            defer { try? store.close() }
            try store.releaseAbandonedRuns()
            let created = try store.createSweep(plan)
            let (id, size) = (created.sweep.id, created.sweep.size)
            if created.repeated > 0 {
                printStandardError(
                    "note: the lists repeat a value, so \(created.repeated) grid point\(created.repeated == 1 ? " is" : "s are") the same as another; each runs once.")
            }
            for note in try ashaNotes(trials: size) { printStandardError("note: " + note) }
            if slurm.tasks != nil {
                return try slurm.deliver(
                    sweep: id, trials: size, epochs: epochs, data: plan.data.directory,
                    location: try database.location, json: output.json)
            }
            if detach {
                print(output.json ? "{\"sweep_id\": \(id), \"trials\": \(size)}" : "sweep \(id): \(Format.count(size, "trial")) of \(Format.count(epochs, "epoch")); `mnistlab worker --sweep \(id)` trains them, on any machine")
                // The line is what a detached sweep gives its user: lost, the sweep still
                // exists, and the error names it rather than leave a script to make another.
                do { try StandardOutput.finish() } catch let error as MNISTLabError {
                    throw MNISTLabError.sweepCreatedAllTheSame(id, after: error)
                }
                return
            }
            if !output.json {
                print("sweep \(id): \(Format.count(size, "run")) of \(Format.count(epochs, "epoch")), \(min(parallel, size)) at a time")
            }
            try runWorkers(store, sweepID: id)
        }

        /// What an ASHA sweep's user should know before it trains: which rule wins when
        /// --patience is given too, and that too few trials train none to the end.
        func ashaNotes(trials: Int) throws -> [String] {
            guard let ladder = try ladder() else { return [] }
            var notes: [String] = []
            if try controlGrid().patience.contains(where: { $0 > 0 }) {
                notes.append(
                    "with --patience, early stopping wins: a trial whose validation loss stops improving completes there, at whatever rung, and is never promoted.")
            }
            let highest = ladder.highestRung(reachableBy: trials)
            if highest < ladder.top {
                notes.append(
                    "with \(Format.count(trials, "trial")) and η = \(ladder.reductionFactor), no trial goes past rung \(highest) (epoch \(ladder.epochs[highest])) of rungs at \(ladder.epochs.map(String.init).joined(separator: ", ")): a rung promotes the best ⌊n/η⌋ of the n trials that reached it, so none trains all \(epochs) epochs unless given at least \(ladder.trialsForTheLastRung) trials, a smaller --reduction-factor or a larger --min-epochs.")
            }
            return notes
        }

        /// Trains what is left of sweep `id` with `--parallel` workers, as after a Ctrl-C.
        func resumeSweep(_ id: Int64) throws {
            let store = try database.openExisting()
            defer { try? store.close() }
            try store.releaseAbandonedRuns()
            guard let progress = try store.sweepProgress(id: id).first else {
                throw SweepError.unknownSweep(id)
            }
            let left = progress.pending + progress.running
            if !output.json {
                print("sweep \(id): \(left) of \(Format.count(progress.sweep.size, "trial")) left, \(min(parallel, left)) at a time")
            }
            try runWorkers(store, sweepID: id)
        }

        /// Starts `--parallel` workers on the sweep, ranks its runs once they stop and exits
        /// as its trials ended.
        func runWorkers(_ store: Store, sweepID: Int64) throws {
            let outcome = try StopSignal.whileTrapped {
                try SweepRunner(
                    parallel: parallel, json: output.json, store: store, sweepID: sweepID,
                    databaseLocation: try database.location, leaseSeconds: try database.leaseSeconds
                ).run()
            }
            let size = outcome.trials.count
            let ranking = try store.summaries(sweepID: sweepID)
            if output.json {
                try printJSON(ranking)
            } else {
                print("\nsweep \(sweepID) ranked by best validation loss:")
                print(rankingTable(ranking, trials: outcome.trials).render())
                if let line = try store.sweepProgress(id: sweepID).first.flatMap(ashaLine) {
                    print(line)
                }
            }
            if outcome.stopped {
                printStandardError(
                    "sweep \(sweepID) stopped; `mnistlab sweep --resume \(sweepID)\(parallel > 1 ? " --parallel \(parallel)" : "")` continues it.")
                throw ExitCode(128 + StopSignal.received)
            }
            let failed = outcome.trials.filter { $0.status == .failed }.count
            let unfinished = outcome.trials.filter { $0.status == .pending || $0.status == .running }
            if !unfinished.isEmpty {
                throw MNISTLabError(
                    "\(unfinished.count) of \(size) trials of sweep \(sweepID) are not finished; `mnistlab sweep --resume \(sweepID)` or `mnistlab worker --sweep \(sweepID)` continues them.")
            }
            if failed > 0 {
                throw MNISTLabError(
                    "\(failed) of \(size) trials of sweep \(sweepID) failed; `mnistlab sweeps \(sweepID)` shows why.")
            }
        }

        /// The batch sizes a TPE search may propose beyond its start-up draws: its list, or its
        /// range's largest.
        func tpeBatchSizes() -> [Int] {
            guard tpe != nil else { return [] }
            if batchSize.contains(":") {
                return DrawRange(batchSize, integer: true).map { [Int($0.high)] } ?? []
            }
            return batchSize.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }

        /// The sweep the options describe: the grids, and what every trial shares.
        func plan() throws -> SweepPlan {
            SweepPlan(
                grid: try grid(), controls: try controlGrid(), epochs: epochs,
                keepEvery: keepEvery ?? Defaults.keepEvery, ladder: try ladder(),
                // Found before the store is opened, and recorded in every trial.
                data: DataSource(
                    directory: try DataLocation.resolve(dataOptions.data),
                    validationSize: dataOptions.valSize, trainLimit: dataOptions.trainLimit))
        }

        // MARK: - Grid

        /// An example list for each list option, for its error.
        static let listExample = [
            "learning-rate": "0.05,0.1", "hidden": "100,256-128", "activation": "sigmoid,relu",
            "loss": "cross-entropy,mse", "momentum": "0,0.9", "batch-size": "50,200", "seed": "1,2",
        ]

        /// An example range for each option that takes one, for its error.
        static let rangeExample = [
            "learning-rate": "0.01:1:log", "hidden": "32:512", "momentum": "0:0.99",
            "batch-size": "32:256:log",
        ]

        func controlGrid() throws -> ControlGrid {
            let controls = try controls.grid()
            if tpe != nil, controls.count > 1 {
                throw ValidationError(
                    "--tpe searches --learning-rate, --hidden, --activation, --loss, --momentum, --batch-size and --seed; give the other settings one value each.")
            }
            let size = try grid().count * controls.count
            if size > 1_000 {
                throw ValidationError("The sweep has \(size) combinations; at most 1000 are allowed.")
            }
            return controls
        }

        func grid() throws -> Grid {
            /// Each item parsed, then checked by `check` (one of `train`'s checks).
            func list<T>(
                _ text: String, _ option: String, _ parse: (String) -> T?,
                _ check: (T) -> String? = { _ in nil }, setting: Check.Setting? = nil
            ) throws -> [T] {
                let items = text.split(separator: ",", omittingEmptySubsequences: false).map {
                    String($0).trimmingCharacters(in: .whitespaces)
                }
                return try items.map { item in
                    guard let value = parse(item) else {
                        throw ValidationError(
                            "--\(option) has an invalid value \(Check.quoted(item)); give a comma-separated list, e.g. \(Self.listExample[option] ?? "1,2")."
                        )
                    }
                    if let problem = check(value) {
                        let subject = (setting?.rawValue ?? option).lowercased()
                        throw ValidationError(
                            "--\(option) has an invalid value \(Check.quoted(item)): \(subject) \(problem).")
                    }
                    return value
                }
            }
            /// A range LOW:HIGH or LOW:HIGH:log, both ends passing `check`, when `--random`
            /// is given; nil for a list.
            func range(
                _ text: String, _ option: String, integer: Bool, _ check: (Double) -> String?
            ) throws -> DrawRange? {
                guard text.contains(":") else { return nil }
                let parts = text.split(separator: ":", omittingEmptySubsequences: false)
                guard random != nil || tpe != nil else {
                    throw ValidationError(
                        "--\(option) \(Check.quoted(text)) is a range; ranges need --random N or --tpe N.")
                }
                guard parts.count == 2 || (parts.count == 3 && parts[2] == "log"),
                    let low = Double(parts[0]), let high = Double(parts[1]), low < high,
                    !integer || (low.rounded() == low && high.rounded() == high),
                    parts.count == 2 || low > 0
                else {
                    throw ValidationError(
                        "--\(option) has an invalid range \(Check.quoted(text)); give LOW:HIGH or LOW:HIGH:log with LOW < HIGH\(integer ? ", whole numbers" : "")\(parts.count == 3 ? " and LOW > 0" : ""), e.g. \(Self.rangeExample[option] ?? "1:10").")
                }
                for end in [low, high] {
                    if let problem = check(end) {
                        throw ValidationError(
                            "--\(option) has an invalid range \(Check.quoted(text)): \(Format.number(end)) \(problem).")
                    }
                }
                return DrawRange(low: low, high: high, log: parts.count == 3, integer: integer)
            }
            let ranges = RandomRanges(
                learningRate: try range(learningRate, "learning-rate", integer: false) {
                    Check.learningRate($0)
                },
                hidden: try range(hidden, "hidden", integer: true) { Check.hidden("\(Int($0))") },
                momentum: try range(momentum, "momentum", integer: false) { Check.momentum($0) },
                batchSize: try range(batchSize, "batch-size", integer: true) {
                    Check.batchSize(Int($0))
                })
            var grid = Grid(
                learningRate: ranges.learningRate != nil
                    ? [] : try list(
                        learningRate, "learning-rate", Double.init, Check.learningRate,
                        setting: .learningRate),
                hidden: ranges.hidden != nil
                    ? [] : try list(
                        hidden, "hidden",
                        { Hyperparameters.parseHidden($0.replacingOccurrences(of: "-", with: ",")) },
                        { Check.hidden($0.map(String.init).joined(separator: ",")) },
                        setting: .hidden
                    ).map { $0.map(String.init).joined(separator: ",") },
                activation: try list(activation, "activation", Activation.init(rawValue:)),
                loss: try list(loss, "loss", Loss.init(rawValue:)),
                momentum: ranges.momentum != nil
                    ? [] : try list(
                        momentum, "momentum", Double.init, Check.momentum, setting: .momentum),
                batchSize: ranges.batchSize != nil
                    ? [] : try list(
                        batchSize, "batch-size", Int.init, Check.batchSize, setting: .batchSize),
                seed: try list(seed, "seed", UInt64.init))
            if let random {
                grid.draw(random, seed: sampleSeed, ranges: ranges)
                return grid
            }
            if let tpe {
                if [ranges.learningRate, ranges.hidden, ranges.momentum, ranges.batchSize]
                    .allSatisfy({ $0 == nil }), grid.count < tpe
                {
                    throw ValidationError(
                        "--tpe \(tpe) asks for more trials than the lists have combinations (\(grid.count)); give a range or lower --tpe.")
                }
                grid.searchTPE(tpe, startup: startupTrials, seed: sampleSeed, ranges: ranges)
                return grid
            }
            if grid.count > 1_000 {
                throw ValidationError(
                    "The sweep has \(grid.count) combinations; at most 1000 are allowed.")
            }
            return grid
        }
    }
}

