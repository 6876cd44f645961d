import Foundation
@testable import Store
import TestSupport
import Testing
import Training

@testable import Sweeps

/// Trial settings as `trials.settings` keeps them: typed, versioned JSON.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct TrialSettingsTests {
    static func trial(_ settings: String) -> TrialRecord {
        TrialRecord(
            id: 1, sweepID: 3, number: 2, settings: settings, status: .pending, runID: nil,
            attempts: 0, worker: nil, workerToken: nil, leaseExpiresAt: nil, failureReason: nil)
    }

    static var sample: TrialSettings {
        var h = Hyperparameters()
        h.hidden = [256, 128]
        h.activation = .relu
        h.learningRate = 0.1234567890123456
        h.seed = .max
        h.lrSchedule = .step(every: 100, factor: 0.5)
        h.minLearningRate = 1e-5
        h.patience = 50
        h.epochs = 30
        return TrialSettings(
            name: "sweep-3/lr=0.1", hyperparameters: h,
            data: DataSource(directory: "/data/mnist", validationSize: 200, trainLimit: nil),
            keepEvery: 5)
    }

    @Test func settingsRoundTripExactly() throws {
        let text = Self.sample.json()
        #expect(try TrialSettings(json: text, trial: Self.trial(text)) == Self.sample)
        #expect(text.hasPrefix(#"{"data":{"directory":"/data/mnist","train_limit":null,"validation_size":200},"hyperparameters":{"#))
        #expect(text.contains(#""seed":18446744073709551615"#))
        #expect(text.hasSuffix(#""keep_every":5,"name":"sweep-3/lr=0.1","version":1}"#))
    }

    @Test func settingsConvertedByTheMigrationRead() throws {
        // The form 0012_typed_trial_settings.sql writes on SQLite (keys unsorted, numbers as
        // the arguments wrote them)
        let text = #"{"version":1,"name":"sweep-1/lr=1e-05","keep_every":50,"hyperparameters":{"hidden":[16],"activation":"sigmoid","loss":"cross-entropy","learning_rate":1e-05,"batch_size":50,"momentum":0.0,"epochs":40,"seed":1,"weight_decay":0,"lr_schedule":"constant","min_learning_rate":0,"patience":null,"min_delta":0},"data":{"directory":"/x","validation_size":200,"train_limit":null}}"#
        let settings = try TrialSettings(json: text, trial: Self.trial(text))
        #expect(settings.hyperparameters.learningRate == 1e-05)
        #expect(settings.hyperparameters.patience == nil)
        #expect(settings.data.trainLimit == nil)
    }

    @Test func aNewerVersionIsRefusedNotGuessedAt() {
        let text = #"{"version":2,"name":"x"}"#
        #expect(throws: SweepError.newerSettings(sweepID: 3, number: 2, version: 2)) {
            try TrialSettings(json: text, trial: Self.trial(text))
        }
    }

    @Test func anArgumentListIsNotSettings() {
        let text = #"["--learning-rate","0.1"]"#
        #expect(throws: SweepError.unreadableSettings(sweepID: 3, number: 2)) {
            try TrialSettings(json: text, trial: Self.trial(text))
        }
    }

    @Test func sweptSettingsAreThoseThatVary() {
        var other = Self.sample
        other.hyperparameters.momentum = 0.9
        other.hyperparameters.patience = nil
        #expect(
            SweptSetting.shown(for: [Self.sample, other]) == [
                .learningRate, .hidden, .activation, .momentum, .patience,
            ])
        #expect(SweptSetting.shown(for: [Self.sample]) == [.learningRate, .hidden, .activation])
    }
}
