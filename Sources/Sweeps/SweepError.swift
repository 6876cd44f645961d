/// What goes wrong in a sweep, as values: the CLI words each case for people.
public enum SweepError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The trial's stored settings are not settings JSON this build reads.
    case unreadableSettings(sweepID: Int64, number: Int)
    /// The trial was written by a newer mnistlab, in a settings format after this build's.
    case newerSettings(sweepID: Int64, number: Int, version: Int)
    /// No sweep with this id in the store.
    case unknownSweep(Int64)
    /// A TPE sweep needs a trial proposed, and this worker was given no proposer.
    case noProposer(sweepID: Int64)

    public var description: String {
        switch self {
        case .unreadableSettings(let sweep, let number):
            "The settings of trial \(number) of sweep \(sweep) are not readable trial settings."
        case .newerSettings(let sweep, let number, let version):
            "Trial \(number) of sweep \(sweep) has settings of version \(version), newer than this mnistlab reads (\(TrialSettings.version))."
        case .unknownSweep(let id):
            "There is no sweep \(id) in this database."
        case .noProposer(let id):
            "Sweep \(id) proposes its trials with TPE, which this worker cannot do."
        }
    }
}
