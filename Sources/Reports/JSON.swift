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
    enum SummaryKeys: String, CodingKey {
        case epochs_done, last_epoch, best_epoch, best_val_loss, best_val_accuracy
        case max_val_accuracy, last_train_loss, last_train_accuracy, last_val_loss
        case last_val_accuracy, total_seconds, stopped_early_at, tags
    }

    /// The seed as `--seed` takes it, in place of the stored Int64 bit pattern.
    enum SeedKey: String, CodingKey { case seed }

    public func encode(to encoder: Encoder) throws {
        try run.encode(to: encoder)
        var seed = encoder.container(keyedBy: SeedKey.self)
        try seed.encode(UInt64(bitPattern: run.seed), forKey: .seed)
        var c = encoder.container(keyedBy: SummaryKeys.self)
        try c.encode(epochsDone, forKey: .epochs_done)
        try c.encode(lastEpoch, forKey: .last_epoch)
        try c.encode(bestEpoch, forKey: .best_epoch)
        try c.encode(bestValLoss, forKey: .best_val_loss)
        try c.encode(bestValAccuracy, forKey: .best_val_accuracy)
        try c.encode(maxValAccuracy, forKey: .max_val_accuracy)
        try c.encode(lastTrainLoss, forKey: .last_train_loss)
        try c.encode(lastTrainAccuracy, forKey: .last_train_accuracy)
        try c.encode(lastValLoss, forKey: .last_val_loss)
        try c.encode(lastValAccuracy, forKey: .last_val_accuracy)
        try c.encode(totalSeconds, forKey: .total_seconds)
        try c.encode(stoppedEarlyAt, forKey: .stopped_early_at)
        // A list rather than run_summary's comma-separated text, for scripts (jq).
        try c.encode(tags, forKey: .tags)
    }
}
