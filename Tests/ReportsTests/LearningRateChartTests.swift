import Testing

@testable import Reports
@testable import Store

/// The learning-rate chart and the controls in the report.
@Suite(.timeLimit(.minutes(10)))
struct LearningRateChartTests {
    @Test func theRateIsDrawnOnlyWhereItVaries() {
        // Given a run whose rate halves at epoch 4, and one with a constant rate
        var scheduled = ReportRun.sample(id: 1, epochs: 6)
        scheduled.summary.run.lrSchedule = "step:3:0.5"
        for k in scheduled.epochs.indices {
            scheduled.epochs[k].learningRate = scheduled.epochs[k].epoch <= 3 ? 0.1 : 0.05
        }
        var constant = ReportRun.sample(id: 2, epochs: 6)
        for k in constant.epochs.indices { constant.epochs[k].learningRate = 0.1 }

        // When they are rendered
        let html = Report(runs: [scheduled, constant], source: "lab.sqlite", generatedAt: "now")
            .html()

        // Then only the first gets a learning-rate chart, and its settings name the schedule
        #expect(html.components(separatedBy: "data-chart=\"learning-rate\"").count == 2)
        #expect(html.contains("Run 1 learning rate per epoch"))
        #expect(!html.contains("Run 2 learning rate per epoch"))
        #expect(html.contains("schedule step:3:0.5"))
    }

    @Test func anEarlyStopIsSaid() {
        var run = ReportRun.sample(id: 1, epochs: 6, bestEpoch: 4)
        run.summary.run.patience = 2
        run.summary.run.epochs = 100
        run.summary.stoppedEarlyAt = 6
        let html = Report(runs: [run], source: "lab.sqlite", generatedAt: "now").html()
        #expect(html.contains("stopped early @6"))
        #expect(html.contains("<th>Stopped early</th><td>after epoch 6, 2 epochs without improvement"))
    }
}
