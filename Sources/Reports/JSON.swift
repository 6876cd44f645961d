/// The JSON that `runs --json`, `show --json` and the dashboard's API print: one encoding
/// of a run_summary row, snake_case as in SQL.
import Foundation
import Store

/// `value` as pretty JSON with sorted keys, for scripts.
public func prettyJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// A run_summary row as JSON: the run's columns plus the summary's, all snake_case as in SQL.
extension RunSummary: Encodable {
    /// The seed as `--seed` takes it, in place of the stored Int64 bit pattern.
    enum SeedKey: String, CodingKey { case seed }

    public func encode(to encoder: Encoder) throws {
        try run.encode(to: encoder)
        var seed = encoder.container(keyedBy: SeedKey.self)
        try seed.encode(UInt64(bitPattern: run.seed), forKey: .seed)
        var c = encoder.container(keyedBy: RunSummary.Column.self)
        try c.encode(epochsDone, forKey: .epochsDone)
        try c.encode(lastEpoch, forKey: .lastEpoch)
        try c.encode(bestEpoch, forKey: .bestEpoch)
        try c.encode(bestValLoss, forKey: .bestValLoss)
        try c.encode(bestValAccuracy, forKey: .bestValAccuracy)
        try c.encode(maxValAccuracy, forKey: .maxValAccuracy)
        try c.encode(lastTrainLoss, forKey: .lastTrainLoss)
        try c.encode(lastTrainAccuracy, forKey: .lastTrainAccuracy)
        try c.encode(lastValLoss, forKey: .lastValLoss)
        try c.encode(lastValAccuracy, forKey: .lastValAccuracy)
        try c.encode(totalSeconds, forKey: .totalSeconds)
        try c.encode(stoppedEarlyAt, forKey: .stoppedEarlyAt)
        // A list rather than run_summary's comma-separated text, for scripts (jq).
        try c.encode(tags, forKey: .tags)
        try c.encode(trialStatus, forKey: .trialStatus)
        try c.encode(rung, forKey: .rung)
    }
}
