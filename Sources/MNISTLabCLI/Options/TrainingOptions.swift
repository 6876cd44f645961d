import ArgumentParser
import Numerics
import Training

extension Activation: ExpressibleByArgument {}
extension Loss: ExpressibleByArgument {}

/// How `--help` words the defaults of the options `train` and `resume` share: `train` shows
/// the seed's values, `resume` says that a setting left out keeps the run's own.
protocol DefaultsWording {
    static func help(_ text: String, default value: String) -> ArgumentHelp
    static var nameHelp: ArgumentHelp { get }
}

enum TrainWording: DefaultsWording {
    static func help(_ text: String, default value: String) -> ArgumentHelp {
        "\(text) (default: \(value))."
    }
    static var nameHelp: ArgumentHelp { "A name for the run (default: run-<id>)." }
}

enum ResumeWording: DefaultsWording {
    static func help(_ text: String, default value: String) -> ArgumentHelp {
        "\(text) (default: the run's own)."
    }
    static var nameHelp: ArgumentHelp {
        "A name for a new run forked from this one (giving one forks; default: run-<id>)."
    }
}

/// Options that `train` and `resume` share. Left out, `train` uses the seed's values
/// (`Defaults`) and `resume` keeps the run's. Numbers are parsed `.unconditional`ly, so that
/// `--learning-rate -0.1` reaches the range check instead of looking like a flag.
struct TrainingOptions<Wording: DefaultsWording>: ParsableArguments {
    @Option(
        name: .long, parsing: .unconditional,
        help: Wording.help(
            "Last epoch to train to, counted from 1",
            default: "\(Defaults.hyperparameters.epochs)"))
    var epochs: Int?

    @Option(
        name: .long, parsing: .unconditional,
        help: Wording.help(
            "Learning rate for SGD", default: "\(Defaults.hyperparameters.learningRate)"))
    var learningRate: Double?

    @Option(
        name: .long, parsing: .unconditional,
        help: Wording.help(
            "Examples per mini-batch", default: "\(Defaults.hyperparameters.batchSize)"))
    var batchSize: Int?

    @Option(
        name: .long, parsing: .unconditional,
        help: Wording.help(
            "SGD momentum in [0, 1)", default: Format.typed(Defaults.hyperparameters.momentum)))
    var momentum: Double?

    @Option(
        name: .long, parsing: .unconditional,
        help: Wording.help(
            "Keep a checkpoint every N epochs, besides the best and the last",
            default: "\(Defaults.keepEvery)"))
    var keepEvery: Int?

    @Option(name: .long, help: Wording.nameHelp)
    var name: String?

    func validate() throws {
        if let epochs { try Check.require(.epochs, epochs, Check.epochs(epochs)) }
        if let learningRate {
            try Check.require(.learningRate, learningRate, Check.learningRate(learningRate))
        }
        if let batchSize { try Check.require(.batchSize, batchSize, Check.batchSize(batchSize)) }
        if let momentum { try Check.require(.momentum, momentum, Check.momentum(momentum)) }
        if let keepEvery { try Check.require(.keepEvery, keepEvery, Check.keepEvery(keepEvery)) }
        if let name { try Check.require(.name, Check.quoted(name), Check.runName(name)) }
    }
}

/// The shape of the network and the seed: fixed for a run and its forks.
struct ModelOptions: ParsableArguments {
    @Option(
        name: .long, parsing: .unconditional, help: "Hidden layer widths, e.g. 100 or 256,128.")
    var hidden = Defaults.hyperparameters.hiddenDescription

    @Option(name: .long, help: "Activation of the hidden layers.")
    var activation = Defaults.hyperparameters.activation

    @Option(name: .long, help: "Loss on the softmax output.")
    var loss = Defaults.hyperparameters.loss

    @Option(
        name: .long, parsing: .unconditional,
        help: "Seed for the initial weights and the per-epoch shuffles (0 to 2^64 - 1).")
    var seed = Defaults.hyperparameters.seed

    var hiddenWidths: [Int] { Hyperparameters.parseHidden(hidden) ?? [] }

    func validate() throws {
        try Check.require(.hidden, Check.quoted(hidden), Check.hidden(hidden))
    }
}

/// Where the data is and how it is split.
struct DataOptions: ParsableArguments {
    @Option(
        name: .long,
        help: """
            Directory with the four MNIST IDX files, .gz or raw (default: $MNISTLAB_DATA, else \
            ./Data/mnist, else Data/mnist in a folder above the mnistlab binary).
            """)
    var data: String?

    @Option(
        name: .long, parsing: .unconditional,
        help: "Training images held out, from the end, for validation.")
    var valSize = Defaults.validationSize

    @Option(
        name: .long, parsing: .unconditional,
        help: "Train on the first N training images only (quick runs).")
    var trainLimit: Int?

    func validate() throws {
        if valSize < 1 { throw ValidationError("--val-size must be at least 1; got \(valSize).") }
        if let trainLimit, trainLimit < 1 {
            throw ValidationError("--train-limit must be at least 1; got \(trainLimit).")
        }
        try Check.notEmpty(data, "--data")
    }
}

/// The checks every training setting passes, in one place: `train`, `resume` and `sweep`
/// call the same functions, so a value one of them refuses none of them accepts. Each returns
/// what is wrong ("must be positive"), or nil; `require` words it for `train` and `resume`,
/// and `sweep` words it for one item of its lists.
enum Check {
    /// An option given as an empty string ("", an unset variable) names no file: refused
    /// before anything runs rather than read as the current directory or a file named "".
    static func notEmpty(_ value: String?, _ option: String) throws {
        guard value?.isEmpty == true else { return }
        let what =
            switch option {
            case "--data": "the directory of the MNIST files"
            case "--db": "a file path or a postgres:// URL"
            default: "a file path, or - for standard output"
            }
        throw ValidationError("\(option) cannot be empty; give \(what).")
    }

    enum Setting: String {
        case epochs = "Epochs", learningRate = "Learning rate", batchSize = "Batch size"
        case momentum = "Momentum", keepEvery = "--keep-every", name = "A run name"
        case hidden = "Hidden widths", tag = "A tag", note = "A note"
    }

    /// The longest name, tag and note, in characters: a name is a table column and part of
    /// every sweep trial's name, a tag is a word, a note a paragraph or a few.
    static let maxNameLength = 200
    static let maxTagLength = 64
    static let maxNoteLength = 10_000

    /// Widest hidden layer accepted.
    static let maxWidth = 65_536
    /// A checkpoint is one SQLite blob of Float32s, and SQLite's blobs stop at 1 GB.
    static let maxParameters = 250_000_000

    static func epochs(_ n: Int) -> String? { n >= 1 ? nil : "must be at least 1" }

    /// Training runs in Float32: 1e-50 would round to 0 and 1e39 to infinity.
    static func learningRate(_ x: Double) -> String? {
        if x.isNaN { return "must be a positive number" }
        if x <= 0 { return "must be positive" }
        if Float(x).isInfinite {
            return "is too large for Float32, whose largest value is \(Float.greatestFiniteMagnitude)"
        }
        if Float(x) == 0 {
            return "is too small for Float32: it rounds to 0 (the smallest positive Float32 is \(Float.leastNonzeroMagnitude))"
        }
        return nil
    }

    static func batchSize(_ n: Int) -> String? { n >= 1 ? nil : "must be at least 1" }

    /// 0.99999999 is below 1 as a Double but rounds to 1 (no decay) as a Float.
    static func momentum(_ m: Double) -> String? {
        if !(m >= 0 && m < 1) { return "must be in [0, 1)" }
        if Float(m) >= 1 { return "must be in [0, 1), and \(m) rounds to 1 in Float32" }
        return nil
    }

    static func keepEvery(_ n: Int) -> String? { n >= 1 ? nil : "must be at least 1" }

    /// "100" or "256,128": each width positive and at most `maxWidth`, and the whole network's
    /// parameters (for MNIST's 28×28 images) within one checkpoint.
    static func hidden(_ text: String) -> String? {
        guard let widths = Hyperparameters.parseHidden(text) else {
            // Every width digits only and none zero, yet no Int: one is beyond Int's range.
            let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            let tooWide = parts.allSatisfy { part in
                !part.isEmpty && part.allSatisfy { $0.isASCII && $0.isNumber }
                    && (Int(part).map { $0 > 0 } ?? true)
            }
            if tooWide { return "must be at most \(maxWidth) each" }
            return "must be positive integers separated by commas, e.g. 100 or 256,128"
        }
        if widths.contains(where: { $0 > maxWidth }) {
            return "must be at most \(maxWidth) each"
        }
        var h = Hyperparameters()
        h.hidden = widths
        let parameters = h.architecture(inputs: 784, outputs: 10).parameterCount
        if parameters > maxParameters {
            return "need \(parameters) parameters for 28×28 images, but a checkpoint holds at most \(maxParameters)"
        }
        return nil
    }

    /// Names appear in every table and in `sweep-<id>/…`: no empty name, no control
    /// characters (a newline would break each table it is printed in), none of the invisible
    /// ones that reorder or hide text, and at most `limit` characters.
    static func runName(_ name: String, limit: Int = maxNameLength) -> String? {
        if name.isEmpty { return "cannot be empty" }
        if name.unicodeScalars.contains(where: isControl) {
            return "cannot contain control characters such as a newline or a tab"
        }
        return shownText(name, limit: limit)
    }

    /// A note may span lines (`show` prints its newlines escaped), but has no invisible
    /// characters and at most `maxNoteLength` characters.
    static func note(_ text: String) -> String? { shownText(text, limit: maxNoteLength) }

    /// What names, tags and notes share: none of the invisible format characters that
    /// reorder or hide the text around them (U+202E, right-to-left override, shows
    /// "exe.txt" for "txt.exe"), and at most `limit` characters.
    private static func shownText(_ text: String, limit: Int) -> String? {
        if let scalar = text.unicodeScalars.first(where: isFormat) {
            return
                "cannot contain invisible formatting characters such as \(scalar.codePoint), which reorder or hide the text around them"
        }
        if text.count > limit { return "must be at most \(limit) characters" }
        return nil
    }

    /// Tags share the names' rule, and more: `run_summary.tags` lists them comma-separated,
    /// and `tag RUN… TAG…` reads the leading numbers as run ids.
    static func tag(_ tag: String) -> String? {
        if let problem = runName(tag, limit: maxTagLength) { return problem }
        if tag.contains(",") { return "cannot contain a comma (run_summary lists tags comma-separated)" }
        if Int64(tag) != nil { return "cannot be a number, which would read as a run id" }
        return nil
    }

    /// Throws "<Setting> <problem>; got <value>." when there is a problem.
    static func require(_ setting: Setting, _ value: Any, _ problem: String?) throws {
        guard let problem else { return }
        throw ValidationError("\(setting.rawValue) \(problem); got \(value).")
    }

    /// `text` in single quotes with control and format characters escaped, for messages; a
    /// long one is cut after 60 characters, with its length.
    static func quoted(_ text: String) -> String {
        guard text.count > 60 else { return "'\(text.controlCharactersEscaped)'" }
        return "'\(String(text.prefix(60)).controlCharactersEscaped)…' (\(text.count) characters)"
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control
    }

    /// An invisible format character (Unicode's Cf: the bidirectional overrides and
    /// isolates, zero-width space, byte-order mark, …), except the zero-width joiner and
    /// non-joiner, which only join letters or emoji and are part of ordinary text in
    /// Persian, the Indic scripts and emoji sequences.
    static func isFormat(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .format && scalar != "\u{200C}"
            && scalar != "\u{200D}"
    }
}
