import Store

extension Store {
    /// The epochs recorded on the way to `epoch` of run `runID`, ascending: its parent's up to
    /// the fork point (and so on up the lineage), then the run's own up to `epoch`. This is
    /// what the learning-rate schedule and early stopping read when the run goes on from
    /// there, so that a resumed run continues exactly.
    func lineageHistory(runID: Int64, through epoch: Int) throws -> [RecordedEpoch] {
        var segments: [[RecordedEpoch]] = []
        var next: (id: Int64, through: Int)? = (runID, epoch)
        var visited: Set<Int64> = []
        while let (id, through) = next, visited.insert(id).inserted {
            segments.append(
                try epochs(runID: id).filter { $0.epoch <= through }.map {
                    RecordedEpoch(epoch: $0.epoch, valLoss: $0.valLoss)
                })
            next = nil
            if let run = try run(id: id), let parent = run.parentRunID,
                let parentEpoch = run.parentEpoch
            {
                next = (parent, min(parentEpoch, through))
            }
        }
        return segments.reversed().flatMap { $0 }
    }
}
