import ArgumentParser
import Foundation
import Numerics
import Store
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
                process writing to the same database. Ctrl-C stops every run cleanly (each is \
                marked interrupted and can be resumed).

                Examples:
                  mnistlab sweep --learning-rate 0.05,0.1,0.2 --hidden 100,300 --epochs 30
                  mnistlab sweep --activation sigmoid,relu --momentum 0,0.9 --parallel 2
                  mnistlab sweep --learning-rate 0.1,0.5 --seed 1,2,3 --train-limit 5000 --epochs 5
                  mnistlab sweep --weight-decay 0,1e-4,1e-3 --lr-schedule constant,cosine
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
            _ = try grid()
            try controlGrid().validate(learningRates: try grid().learningRate)
            try Check.require(.epochs, epochs, Check.epochs(epochs))
            if let keepEvery {
                try Check.require(.keepEvery, keepEvery, Check.keepEvery(keepEvery))
            }
            if parallel < 1 {
                throw ValidationError("--parallel must be at least 1; got \(parallel).")
            }
        }

        func run() throws {
            let grid = try grid()
            let controlGrid = try controlGrid()
            // Found before the store is opened, and passed to every run as --data.
            let dataDirectory = try DataLocation.resolve(dataOptions.data)
            // The split every trial makes, made once here: a sweep whose runs could not start
            // is refused before anything is written, not found out trial by trial.
            let data = try DataSource(
                directory: dataDirectory, validationSize: dataOptions.valSize,
                trainLimit: dataOptions.trainLimit
            ).prepare()
            for batchSize in Set(grid.combinations.map(\.batchSize)).sorted() {
                try Session.requireBatchFits(batchSize, data.train)
            }
            let store = try database.openForWriting()
            // Closed explicitly so the WAL is folded back before the process exits.
            defer { try? store.close() }
            try store.releaseAbandonedRuns()
            StandardOutput.policy = .carryOn
            let combinations = grid.combinations.flatMap { settings in
                controlGrid.combinations.map { (settings, $0) }
            }
            // Each trial's run name holds the sweep's id, which the store chooses.
            func launches(_ sweepID: Int64) -> [Launch] {
                var seen = Set<[String]>()
                return combinations.map { settings, control in
                    let label = label(grid, settings, controlGrid, control)
                    let name = "sweep-\(sweepID)/\(label)"
                    return Launch(
                        index: 0, label: label, name: name,
                        arguments: arguments(
                            settings, sweep: sweepID, name: name, data: dataDirectory)
                            + controlGrid.arguments(control))
                }.filter { seen.insert($0.arguments).inserted }.enumerated().map { k, launch in
                    var numbered = launch
                    numbered.index = k + 1
                    return numbered
                }
            }
            let sweep = try store.createSweep(grid: try json(grid, controlGrid)) {
                launches($0).map(\.arguments)
            }
            let trials = launches(sweep.id)
            let size = trials.count
            if size < combinations.count {
                printStandardError(
                    "note: the lists repeat a value, so \(combinations.count - size) grid point\(combinations.count - size == 1 ? " is" : "s are") the same as another; each runs once.")
            }
            if detach {
                print(output.json ? "{\"sweep_id\": \(sweep.id), \"trials\": \(size)}" : "sweep \(sweep.id): \(size) trial\(size == 1 ? "" : "s") of \(epochs) epoch\(epochs == 1 ? "" : "s"); `mnistlab worker --sweep \(sweep.id)` trains them, on any machine")
                return
            }
            if !output.json {
                print(
                    "sweep \(sweep.id): \(size) run\(size == 1 ? "" : "s") of \(epochs) epoch\(epochs == 1 ? "" : "s"), \(min(parallel, size)) at a time"
                )
            }
            let outcome = try StopSignal.whileTrapped {
                try SweepRunner(
                    launches: trials, parallel: parallel, quiet: output.json || parallel > 1,
                    json: output.json, store: store, sweepID: sweep.id,
                    databaseLocation: try database.location
                ).run()
            }
            let ranking = try store.summaries(sweepID: sweep.id)
            if output.json {
                try printJSON(ranking)
            } else {
                print("\nsweep \(sweep.id) ranked by best validation loss:")
                print(rankingTable(ranking, grid: grid, controls: controlGrid).render())
            }
            if outcome.stopped { throw ExitCode(128 + StopSignal.received) }
            let failed = outcome.trials.filter { $0.status == .failed }.count
            let unfinished = outcome.trials.filter { $0.status == .pending || $0.status == .running }
            if !unfinished.isEmpty {
                throw MNISTLabError(
                    "\(unfinished.count) of \(size) trials of sweep \(sweep.id) are not finished; `mnistlab worker --sweep \(sweep.id)` continues them.")
            }
            if failed > 0 {
                throw MNISTLabError(
                    "\(failed) of \(size) trials of sweep \(sweep.id) failed; `mnistlab sweeps \(sweep.id)` shows why.")
            }
        }

        /// `mnistlab train` arguments for one combination, without the command and the
        /// database: a worker runs them against the store it is given.
        private func arguments(
            _ s: Grid.Settings, sweep: Int64, name: String, data: String
        ) -> [String] {
            var a = [
                "--sweep", "\(sweep)", "--name", name,
                "--epochs", "\(epochs)", "--learning-rate", "\(s.learningRate)",
                "--hidden", s.hidden, "--activation", s.activation.rawValue, "--loss",
                s.loss.rawValue,
                "--momentum", "\(s.momentum)", "--batch-size", "\(s.batchSize)", "--seed",
                "\(s.seed)",
                "--val-size", "\(dataOptions.valSize)", "--data", data,
            ]
            if let limit = dataOptions.trainLimit { a += ["--train-limit", "\(limit)"] }
            if let keepEvery { a += ["--keep-every", "\(keepEvery)"] }
            return a
        }

        private func rankingTable(_ ranking: [RunSummary], grid: Grid, controls: ControlGrid)
            -> Table
        {
            let varied =
                grid.variedColumns.map { c in (c.title, { (s: RunSummary) in c.value(s.run) }) }
                + controls.variedColumns
            var table = Table(
                ["rank", "run", "status"] + varied.map(\.0) + [
                    "best epoch", "best val loss", "best val acc",
                ],
                numeric: Set([0, 1] + (0..<3).map { 3 + varied.count + $0 }))
            for (k, s) in ranking.enumerated() {
                table.append(
                    ["\(k + 1)", "\(s.run.id)", s.run.status.rawValue]
                        + varied.map { $0.1(s) }
                        + [
                            s.bestEpoch.map(String.init) ?? "-", Format.loss(s.bestValLoss),
                            Format.percent(s.bestValAccuracy),
                        ])
            }
            return table
        }

        // MARK: - Grid

        func controlGrid() throws -> ControlGrid {
            let controls = try controls.grid()
            let size = try grid().count * controls.count
            if size > 1_000 {
                throw ValidationError("The sweep has \(size) combinations; at most 1000 are allowed.")
            }
            return controls
        }

        /// A run's label: the varied settings of both grids.
        private func label(
            _ grid: Grid, _ settings: Grid.Settings, _ controls: ControlGrid,
            _ control: ControlGrid.Settings
        ) -> String {
            let parts = controls.labelParts(control)
            if parts.isEmpty { return grid.label(settings) }
            // Grid.label names the learning rate when nothing of its own varies.
            return ((grid.count > 1 ? [grid.label(settings)] : []) + parts).joined(separator: ",")
        }

        /// The sweeps.grid JSON: the grid's keys and the swept control settings'.
        private func json(_ grid: Grid, _ controls: ControlGrid) throws -> String {
            let base = try grid.json()
            let fields = controls.jsonFields
            guard !fields.isEmpty,
                var object = try JSONSerialization.jsonObject(with: Data(base.utf8))
                    as? [String: Any]
            else { return base }
            object.merge(fields) { _, new in new }
            let data = try JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
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
                            "--\(option) has an invalid value \(Check.quoted(item)); give a comma-separated list, e.g. \(Grid.example[option] ?? "1,2")."
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
                guard random != nil else {
                    throw ValidationError(
                        "--\(option) \(Check.quoted(text)) is a range; ranges need --random N.")
                }
                guard parts.count == 2 || (parts.count == 3 && parts[2] == "log"),
                    let low = Double(parts[0]), let high = Double(parts[1]), low < high,
                    !integer || (low.rounded() == low && high.rounded() == high),
                    parts.count == 2 || low > 0
                else {
                    throw ValidationError(
                        "--\(option) has an invalid range \(Check.quoted(text)); give LOW:HIGH or LOW:HIGH:log with LOW < HIGH\(integer ? ", whole numbers" : "")\(parts.count == 3 ? " and LOW > 0" : ""), e.g. \(DrawRange.example[option] ?? "1:10").")
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
            if grid.count > 1_000 {
                throw ValidationError(
                    "The sweep has \(grid.count) combinations; at most 1000 are allowed.")
            }
            return grid
        }
    }
}

/// The swept values: every combination of one value from each list is a run.
struct Grid {
    var learningRate: [Double]
    var hidden: [String]
    var activation: [Activation]
    var loss: [Loss]
    var momentum: [Double]
    var batchSize: [Int]
    var seed: [UInt64]

    static let example = [
        "learning-rate": "0.05,0.1", "hidden": "100,256-128", "activation": "sigmoid,relu",
        "loss": "cross-entropy,mse", "momentum": "0,0.9", "batch-size": "50,200", "seed": "1,2",
    ]

    struct Settings {
        var learningRate: Double
        var hidden: String
        var activation: Activation
        var loss: Loss
        var momentum: Double
        var batchSize: Int
        var seed: UInt64
    }

    /// The trials of a random search (`--random`), drawn by `draw`; nil for a full grid.
    var draws: [Settings]?
    /// How the draws were made, for the sweeps.grid JSON.
    var drawn: (count: Int, seed: UInt64, ranges: RandomRanges)?

    var count: Int {
        draws?.count
            ?? learningRate.count * hidden.count * activation.count * loss.count
            * momentum.count * batchSize.count * seed.count
    }

    /// The drawn trials, or every combination in a fixed order: learning rate slowest, seed
    /// fastest.
    var combinations: [Settings] {
        if let draws { return draws }
        return (0..<count).map { index in
            // Index k in mixed radix: the seed digit changes fastest.
            var k = index
            func pick<T>(_ values: [T]) -> T {
                defer { k /= values.count }
                return values[k % values.count]
            }
            let s = pick(seed), b = pick(batchSize), m = pick(momentum), f = pick(loss)
            let a = pick(activation), h = pick(hidden), l = pick(learningRate)
            return Settings(
                learningRate: l, hidden: h, activation: a, loss: f, momentum: m, batchSize: b,
                seed: s)
        }
    }

    /// Draws `count` trials: each setting picked from its list, or drawn from its range,
    /// from SplitMix64 stream k + 1 of `seed` for trial k, so the same command draws the same
    /// trials. A drawn real keeps 4 significant digits, to read well in names and tables.
    /// Afterwards each list holds the values drawn, so that the varied ones show.
    mutating func draw(_ count: Int, seed drawSeed: UInt64, ranges: RandomRanges) {
        draws = (0..<count).map { k in
            var random = SplitMix64(seed: drawSeed, stream: UInt64(k) + 1)
            func pick<T>(_ values: [T]) -> T {
                values[Int(random.next(below: UInt64(values.count)))]
            }
            func value(_ range: DrawRange?, _ values: [Double]) -> Double {
                range.map { $0.draw(&random) } ?? pick(values)
            }
            let l = value(ranges.learningRate, learningRate)
            let h = ranges.hidden.map { "\(Int($0.draw(&random)))" } ?? pick(hidden)
            let a = pick(activation), f = pick(loss)
            let m = value(ranges.momentum, momentum)
            let b = ranges.batchSize.map { Int($0.draw(&random)) } ?? pick(batchSize)
            return Settings(
                learningRate: l, hidden: h, activation: a, loss: f, momentum: m, batchSize: b,
                seed: pick(seed))
        }
        drawn = (count, drawSeed, ranges)
        func distinct<T: Hashable>(_ values: [T]) -> [T] {
            var seen = Set<T>()
            return values.filter { seen.insert($0).inserted }
        }
        learningRate = distinct(combinations.map(\.learningRate))
        hidden = distinct(combinations.map(\.hidden))
        momentum = distinct(combinations.map(\.momentum))
        batchSize = distinct(combinations.map(\.batchSize))
        seed = distinct(combinations.map(\.seed))
    }

    /// Columns for the settings that take more than one value (learning rate, hidden and
    /// activation always), as the ranking shows them.
    var variedColumns: [(title: String, value: (Run) -> String)] {
        var columns: [(String, (Run) -> String)] = [
            ("lr", { Format.number($0.learningRate) }), ("hidden", \.hidden),
            ("activation", \.activation),
        ]
        if loss.count > 1 { columns.append(("loss", \.loss)) }
        if momentum.count > 1 { columns.append(("momentum", { Format.number($0.momentum) })) }
        if batchSize.count > 1 { columns.append(("batch", { "\($0.batchSize)" })) }
        if seed.count > 1 { columns.append(("seed", { Format.seed($0.seed) })) }
        return columns
    }

    /// "lr=0.1,hidden=256-128,activation=relu": the varied settings of one combination.
    func label(_ s: Settings) -> String {
        var parts: [String] = []
        if learningRate.count > 1 { parts.append("lr=\(s.learningRate)") }
        if hidden.count > 1 {
            parts.append("hidden=\(s.hidden.replacingOccurrences(of: ",", with: "-"))")
        }
        if activation.count > 1 { parts.append("activation=\(s.activation.rawValue)") }
        if loss.count > 1 { parts.append("loss=\(s.loss.rawValue)") }
        if momentum.count > 1 { parts.append("momentum=\(s.momentum)") }
        if batchSize.count > 1 { parts.append("batch=\(s.batchSize)") }
        if seed.count > 1 { parts.append("seed=\(s.seed)") }
        return parts.isEmpty ? "lr=\(s.learningRate)" : parts.joined(separator: ",")
    }

    /// The grid as the sweeps.grid column stores it.
    func json() throws -> String {
        struct Columns: Encodable {
            var learning_rate: [Double], hidden: [String], activation: [String], loss: [String]
            var momentum: [Double], batch_size: [Int], seed: [UInt64]
        }
        struct Random: Encodable {
            var learning_rate: String?, hidden: String?, momentum: String?, batch_size: String?
            var trials: Int, sample_seed: UInt64
        }
        struct Drawn: Encodable {
            var random: Random
            var values: Columns
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let columns = Columns(
            learning_rate: learningRate, hidden: hidden, activation: activation.map(\.rawValue),
            loss: loss.map(\.rawValue), momentum: momentum, batch_size: batchSize, seed: seed)
        guard let drawn else { return String(decoding: try encoder.encode(columns), as: UTF8.self) }
        let random = Random(
            learning_rate: drawn.ranges.learningRate?.description,
            hidden: drawn.ranges.hidden?.description, momentum: drawn.ranges.momentum?.description,
            batch_size: drawn.ranges.batchSize?.description, trials: drawn.count,
            sample_seed: drawn.seed)
        return String(
            decoding: try encoder.encode(Drawn(random: random, values: columns)), as: UTF8.self)
    }
}

/// A range a random search draws a setting from: uniform, or log-uniform, in [low, high].
struct DrawRange {
    var low: Double
    var high: Double
    var log: Bool
    var integer: Bool

    static let example = [
        "learning-rate": "0.01:1:log", "hidden": "32:512", "momentum": "0:0.99",
        "batch-size": "32:256:log",
    ]

    func draw(_ random: inout SplitMix64) -> Double {
        let u = Double(random.next() >> 11) * 0x1p-53
        let x = log ? Foundation.exp(Foundation.log(low) + u * Foundation.log(high / low)) : low + u * (high - low)
        if integer { return min(max(x.rounded(), low), high) }
        guard x != 0 else { return 0 }
        let scale = Foundation.pow(10, 3 - Foundation.floor(Foundation.log10(Swift.abs(x))))
        return min(max((x * scale).rounded() / scale, low), high)
    }

    /// As given: "0.01:1:log".
    var description: String {
        let (l, h) = integer ? ("\(Int(low))", "\(Int(high))") : (Format.number(low), Format.number(high))
        return "\(l):\(h)\(log ? ":log" : "")"
    }
}

/// The settings of a random search given as ranges (nil: a list to pick from).
struct RandomRanges {
    var learningRate: DrawRange?
    var hidden: DrawRange?
    var momentum: DrawRange?
    var batchSize: DrawRange?
}
