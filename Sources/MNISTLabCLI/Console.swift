import Foundation
import Store
import Training

extension SessionEvents {
    /// One line per epoch on standard output; notes on standard error.
    static var console: SessionEvents {
        var events = SessionEvents()
        events.started = { run, from in
            let origin =
                from.map { epoch in
                    run.parentRunID.map { "forked from run \($0) at epoch \(epoch)" }
                        ?? "resumed after epoch \(epoch)"
                } ?? "new"
            print(
                "run \(run.id) (\(run.name)): \(origin); hidden \(run.hidden) \(run.activation), \(run.loss), lr \(run.learningRate), batch \(run.batchSize), momentum \(run.momentum), epochs \(run.epochs), seed \(run.seed), \(run.trainSize) train / \(run.valSize) val, kernels \(run.kernelPath)"
            )
            flushStandardOutput()
        }
        events.epoch = { m, _ in
            print(
                "epoch \(pad(m.epoch, 4))  train loss \(Format.loss(m.trainLoss)) acc \(Format.percent(m.trainAccuracy))  val loss \(Format.loss(m.valLoss)) acc \(Format.percent(m.valAccuracy))  \(Format.fixed(m.seconds, digits: 3))s"
            )
            flushStandardOutput()
        }
        events.note = { FileHandle.standardError.write(Data("note: \($0)\n".utf8)) }
        events.shouldStop = { StopSignal.received != 0 }
        return events
    }
}

private func pad(_ n: Int, _ width: Int) -> String {
    let text = String(n)
    return String(repeating: " ", count: max(0, width - text.count)) + text
}

// fflush(nil) flushes every output stream, which avoids touching the global `stdout`.
func flushStandardOutput() { fflush(nil) }
