import Foundation
import Store
import Training

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

extension SessionEvents {
    /// One line per epoch on standard output; notes on standard error.
    static var console: SessionEvents {
        var events = SessionEvents()
        let schedule = ScheduleShown()
        events.started = { run, from in
            schedule.varies = run.lrSchedule != "constant"
            let origin: String
            switch from {
            case nil: origin = "new"
            case 0: origin = "restarted from its initial weights"
            case run.parentEpoch where run.parentRunID != nil:
                origin = "forked from run \(run.parentRunID ?? 0) at epoch \(from ?? 0)"
            case let epoch?: origin = "resumed after epoch \(epoch)"
            }
            print(
                "run \(run.id) (\(run.name.controlCharactersEscaped)): \(origin); hidden \(run.hidden) \(run.activation), \(run.loss), lr \(run.learningRate), batch \(run.batchSize), momentum \(run.momentum), epochs \(run.epochs), seed \(Format.seed(run.seed)), \(run.trainSize) train / \(run.valSize) val, kernels \(run.kernelPath)\(controlsText(run))"
            )
        }
        events.epoch = { m, _ in
            print(
                ProgressLine.clear + "epoch \(pad(m.epoch, 4))  train loss \(Format.loss(m.trainLoss)) acc \(Format.percent(m.trainAccuracy))  val loss \(Format.loss(m.valLoss)) acc \(Format.percent(m.valAccuracy))  \(Format.fixed(m.seconds, digits: 3))s\(schedule.varies ? "  lr \(Format.number(m.learningRate))" : "")"
            )
        }
        if Terminal.isInteractive {
            events.progress = { print(ProgressLine.text($0), terminator: "") }
        }
        events.note = { printStandardError("note: \($0)") }
        events.shouldStop = { StopSignal.received != 0 }
        return events
    }
}

/// Whether the run's learning rate varies, so that each epoch line shows it.
private final class ScheduleShown: @unchecked Sendable {
    var varies = false
}

/// The run's schedule, weight decay and early stopping, where they differ from train's
/// defaults: ", schedule cosine to 0.001, weight decay 0.0001, patience 50".
func controlsText(_ run: Run) -> String {
    var parts: [String] = []
    if run.lrSchedule != "constant" {
        parts.append(
            "schedule \(run.lrSchedule)"
                + (run.minLearningRate > 0 ? " to \(Format.number(run.minLearningRate))" : ""))
    }
    if run.weightDecay != 0 { parts.append("weight decay \(Format.number(run.weightDecay))") }
    if let patience = run.patience {
        parts.append(
            "patience \(patience)"
                + (run.minDelta > 0 ? " (min delta \(Format.number(run.minDelta)))" : ""))
    }
    return parts.map { ", " + $0 }.joined()
}

/// The line redrawn in place while an epoch trains, on a terminal only: piped output keeps
/// one line per epoch.
enum ProgressLine {
    /// Carriage return and erase-line: what the next line printed starts with, on a terminal.
    static var clear: String { Terminal.isInteractive ? "\r\u{1B}[K" : "" }

    /// "epoch   12  143/250 batches  loss 0.2345  ETA 3.2s", starting with `clear`.
    static func text(_ p: EpochProgress) -> String {
        let remaining = p.seconds / Double(max(p.batchesDone, 1)) * Double(p.batchCount - p.batchesDone)
        return "\r\u{1B}[Kepoch \(pad(p.epoch, 4))  \(p.batchesDone)/\(p.batchCount) batches  loss \(Format.loss(p.meanLoss))  ETA \(Format.seconds(remaining))"
    }
}

private func pad(_ n: Int, _ width: Int) -> String {
    let text = String(n)
    return String(repeating: " ", count: max(0, width - text.count)) + text
}

/// Writes `line` and a newline to standard error. A closed standard error (`2>&1 | head`)
/// loses the line: SIGPIPE is ignored (see `StopSignal.ignoreClosedOutput`), so the write
/// fails with EPIPE and is dropped, and the run goes on.
func printStandardError(_ line: String) {
    writeAll(STDERR_FILENO, Array((line + "\n").utf8))
}

/// Writes `bytes` to file descriptor `fd`, retrying partial writes; false when a write fails
/// (EPIPE once the reader has gone).
@discardableResult
func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return false }
        written += n
    }
    return true
}
