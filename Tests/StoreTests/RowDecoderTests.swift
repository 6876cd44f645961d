import Foundation
import TestSupport
import Testing

@testable import Store

/// Records decode from a row through their synthesized `init(from:)` (`SQLRow.decode`), which
/// follows the columns of their coding keys by position and falls back to names.
@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct RowDecoderTests {
    /// One property of each type a column decodes into, then the same types as Optionals.
    private struct Every: Decodable, Equatable {
        var big: Int64
        var small: Int
        var real: Double
        var whole: Double
        var text: String
        var bytes: Data
        var status: Run.Status
        var list: [String]
        var flag: Bool
        var single: Float
        var maybeBig: Int64?
        var maybeSmall: Int?
        var maybeReal: Double?
        var maybeText: String?
        var maybeBytes: Data?
        var maybeStatus: Run.Status?
        var maybeFlag: Bool?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case big, small, real, whole, text, bytes, status, list, flag, single
            case maybeBig = "maybe_big"
            case maybeSmall = "maybe_small"
            case maybeReal = "maybe_real"
            case maybeText = "maybe_text"
            case maybeBytes = "maybe_bytes"
            case maybeStatus = "maybe_status"
            case maybeFlag = "maybe_flag"
        }
    }

    /// A row of `names` holding `values`, as an engine returns it.
    private func row(_ names: [String], _ values: [SQLValue]) -> SQLRow {
        SQLRow(columns: SQLColumns(names), values: values)
    }

    /// The reason of the StoreError that decoding `row` as `T` throws.
    private func failure<T: Decodable>(_ type: T.Type, _ row: SQLRow) -> String? {
        do {
            _ = try row.decode(T.self)
            return nil
        } catch {
            return (error as? StoreError)?.reason ?? "\(error)"
        }
    }

    private let everyName = Every.CodingKeys.allCases.map(\.stringValue)

    @Test func everyColumnTypeDecodesWithAndWithoutAValue() throws {
        // Given a row with a value of each type, and the same row with its optionals NULL
        let present: [SQLValue] = [
            .integer(-1 << 40), .integer(7), .real(0.25), .integer(3), .text("é,x"),
            .blob([0, 255]), .text("interrupted"), .text("a,b"), .integer(1), .real(1.5),
            .integer(1 << 40), .integer(-2), .real(-0.5), .text(""), .blob([]), .text("failed"),
            .integer(0),
        ]
        let absent = Array(present.prefix(10)) + Array(repeating: SQLValue.null, count: 7)

        // When both decode
        let full = try row(everyName, present).decode(Every.self)
        let empty = try row(everyName, absent).decode(Every.self)

        // Then each value is the column's, an integer reads as a Double, a list splits at
        // its commas, and NULL reads as nil
        let expected = Every(
            big: -1 << 40, small: 7, real: 0.25, whole: 3, text: "é,x", bytes: Data([0, 255]),
            status: .interrupted, list: ["a", "b"], flag: true, single: 1.5, maybeBig: 1 << 40,
            maybeSmall: -2, maybeReal: -0.5, maybeText: "", maybeBytes: Data(),
            maybeStatus: .failed, maybeFlag: false)
        #expect(full == expected)
        #expect(
            empty
                == Every(
                    big: -1 << 40, small: 7, real: 0.25, whole: 3, text: "é,x",
                    bytes: Data([0, 255]), status: .interrupted, list: ["a", "b"], flag: true,
                    single: 1.5, maybeBig: nil, maybeSmall: nil, maybeReal: nil, maybeText: nil,
                    maybeBytes: nil, maybeStatus: nil, maybeFlag: nil))
    }

    @Test func aMissingColumnIsNilForAnOptionalAndAnErrorOtherwise() throws {
        // Given results without some of the record's columns
        struct Pair: Decodable, Equatable {
            var id: Int64
            var note: String?
            var tags: [String]
            enum CodingKeys: String, CodingKey, CaseIterable { case id, note, tags }
        }

        // Then a missing Optional reads as nil and a missing list as empty
        #expect(try row(["id"], [.integer(4)]).decode(Pair.self) == Pair(id: 4, note: nil, tags: []))
        // And a missing non-optional column is an error naming it
        #expect(failure(Pair.self, row(["note"], [.text("x")])) == "the result has no column id.")
        #expect(failure(Every.self, row(["big"], [.integer(1)])) == "the result has no column small.")
    }

    @Test func columnsInAnotherOrderThanTheDeclarationDecodeByName() throws {
        // Given a result with the record's columns reversed, others between them, and a
        // record whose properties come in another order than its coding keys
        struct Shuffled: Decodable, Equatable {
            var c: String
            var a: Int
            var b: Double?
            enum CodingKeys: String, CodingKey, CaseIterable { case a, b, c }
        }
        let names = ["x"] + everyName.reversed() + ["y"]
        let values: [SQLValue] = [
            .text("other"), .integer(1), .text("running"), .blob([]), .text("t"), .real(2),
            .integer(5), .integer(6), .integer(7), .integer(1), .text(""), .text("completed"),
            .blob([1]), .text("u"), .integer(9), .real(0.5), .integer(8), .integer(-3),
            .text("other"),
        ]

        // When they decode, twice from rows of the same result
        let columns = SQLColumns(names)
        let first = try SQLRow(columns: columns, values: values).decode(Every.self)
        let second = try SQLRow(columns: columns, values: values).decode(Every.self)
        let shuffled = try row(["b", "c", "a"], [.null, .text("three"), .integer(1)]).decode(Shuffled.self)

        // Then every property has its own column's value
        let expected = Every(
            big: -3, small: 8, real: 0.5, whole: 9, text: "u", bytes: Data([1]), status: .completed,
            list: [], flag: true, single: 7, maybeBig: 6, maybeSmall: 5, maybeReal: 2,
            maybeText: "t", maybeBytes: Data(), maybeStatus: .running, maybeFlag: true)
        #expect(first == expected)
        #expect(second == expected)
        #expect(shuffled == Shuffled(c: "three", a: 1, b: nil))
    }

    @Test func aValueOfAnotherTypeIsAnErrorNamingItsColumn() {
        // Given rows whose values are not of their properties' types
        struct One<T: Decodable>: Decodable {
            var value: T
            enum CodingKeys: String, CodingKey, CaseIterable { case value = "v" }
        }

        // Then each names the column, the value and the type
        #expect(failure(One<Int>.self, row(["v"], [.text("abc")])) == "column v holds abc, not a value of type Int.")
        #expect(failure(One<Int64>.self, row(["v"], [.real(1.5)])) == "column v holds 1.5, not a value of type Int64.")
        #expect(failure(One<Double>.self, row(["v"], [.text("x")])) == "column v holds x, not a value of type Double.")
        #expect(failure(One<String>.self, row(["v"], [.integer(2)])) == "column v holds 2, not a value of type String.")
        #expect(failure(One<Int>.self, row(["v"], [.null])) == "column v holds NULL, not a value of type Int.")
        #expect(failure(One<Int?>.self, row(["v"], [.text("x")])) == "column v holds x, not a value of type Int.")
        #expect(
            failure(One<Run.Status>.self, row(["v"], [.text("paused")]))
                == "column v holds paused, not a value of type Status.")
        #expect(
            failure(One<Data>.self, row(["v"], [.text("x")])) == "column v holds x, not a value of type Data.")
    }

    @Test func aSummaryReadsItsRunFromTheSameRow() throws {
        // Given a row of run_summary's columns, in another order than the declarations
        let run = Run(
            id: 3, name: "r", status: .completed, parentRunID: nil, parentEpoch: nil,
            createdAt: "2026-12-06T00:00:00.000Z", finishedAt: nil, learningRate: 0.1,
            batchSize: 200, epochs: 5, hidden: "100", activation: "sigmoid",
            loss: "cross-entropy", momentum: 0, seed: 1, trainSize: 50_000, valSize: 10_000,
            datasetPath: "/d", datasetChecksum: "c", codeVersion: "v", kernelPath: "avx2",
            keepEvery: 1, failureReason: nil, pid: nil, host: nil, heartbeatAt: nil, sweepID: nil)
        let runColumns: [(String, SQLValue)] = [
            ("id", .integer(3)), ("name", .text("r")), ("status", .text("completed")),
            ("created_at", .text("2026-12-06T00:00:00.000Z")), ("learning_rate", .real(0.1)),
            ("batch_size", .integer(200)), ("epochs", .integer(5)), ("hidden", .text("100")),
            ("activation", .text("sigmoid")), ("loss", .text("cross-entropy")),
            ("momentum", .real(0)), ("seed", .integer(1)), ("train_size", .integer(50_000)),
            ("val_size", .integer(10_000)), ("dataset_path", .text("/d")),
            ("dataset_checksum", .text("c")), ("code_version", .text("v")),
            ("kernel_path", .text("avx2")), ("keep_every", .integer(1)), ("min_delta", .real(0)),
            ("lr_schedule", .text("constant")), ("min_learning_rate", .real(0)),
            ("weight_decay", .real(0)),
        ]
        let own: [(String, SQLValue)] = [
            ("tags", .text("b,c")), ("epochs_done", .integer(5)), ("best_epoch", .integer(4)),
            ("best_val_loss", .real(0.08)), ("trial_status", .text("paused")), ("rung", .integer(1)),
        ]
        let columns = own + runColumns

        // When it decodes as a summary and as a listing
        let summary = try row(columns.map(\.0), columns.map(\.1)).decode(RunSummary.self)
        let listing = try row(columns.map(\.0), columns.map(\.1)).decode(RunListing.self)

        // Then the run comes from the row's run columns and the rest from the summary's
        #expect(summary.run == run)
        #expect(summary.epochsDone == 5 && summary.bestEpoch == 4 && summary.bestValLoss == 0.08)
        #expect(summary.lastEpoch == nil && summary.totalSeconds == nil)
        #expect(summary.tags == ["b", "c"] && summary.trialStatus == .paused && summary.rung == 1)
        #expect(listing.id == 3 && listing.status == .completed && listing.bestValLoss == 0.08)
        #expect(listing.lastEpoch == nil && listing.pid == nil)
    }

    /// `record`'s properties as a row, in declaration order, under `names`, and reversed.
    private func rows(of record: Any, _ names: [String]) -> [SQLRow] {
        let values = Mirror(reflecting: record).children.map { child -> SQLValue in
            switch child.value {
            case let value as Int64: .integer(value)
            case let value as Int: .integer(Int64(value))
            case let value as Double: .real(value)
            case let value as String: .text(value)
            case let value as Run.Status: .text(value.rawValue)
            default: .null  // nil: an Optional's absent value
            }
        }
        return [row(names, values), row(names.reversed(), values.reversed())]
    }

    @Test func recordsReadByHandAgreeWithTheirDeclaration() throws {
        // Given a run and a listing whose every column holds a value of its own
        let run = Run(
            id: 11, name: "n", status: .interrupted, parentRunID: 12, parentEpoch: 13,
            createdAt: "c", finishedAt: "f", learningRate: 0.14, batchSize: 15, epochs: 16,
            hidden: "h", activation: "a", loss: "l", momentum: 0.17, seed: 18, trainSize: 19,
            valSize: 20, datasetPath: "p", datasetChecksum: "s", codeVersion: "v",
            kernelPath: "k", keepEvery: 21, failureReason: "r", pid: 22, host: "o",
            heartbeatAt: "b", sweepID: 23, ownerToken: "t", leaseExpiresAt: "e", patience: 24,
            minDelta: 0.25, lrSchedule: "cosine", minLearningRate: 0.26, weightDecay: 0.27,
            note: "x", uid: "u")
        var listing = RunListing(RunSummary(run: run, epochsDone: 3))
        listing.lastEpoch = 28
        listing.bestValLoss = 0.29
        listing.bestValAccuracy = 0.3
        #expect(!Mirror(reflecting: run).children.contains { "\($0.value)" == "nil" })
        #expect(!Mirror(reflecting: listing).children.contains { "\($0.value)" == "nil" })

        // Then reading them by hand (`init(row:)`, what `SQLRow.decode` uses) and through
        // their Decodable declaration give the same records, with every column, in any order
        for row in rows(of: run, Run.CodingKeys.allCases.map(\.stringValue)) {
            #expect(try Run(row: row) == run)
            #expect(try Run(from: row.decoder) == run)
            #expect(try row.decode(Run.self) == run)
        }
        for row in rows(of: listing, RunListing.CodingKeys.allCases.map(\.stringValue)) {
            #expect(try RunListing(row: row) == listing)
            #expect(try RunListing(from: row.decoder) == listing)
        }
    }

    @Test func aListingSelectsOnlyItsOwnColumns() {
        #expect(
            RunListing.selection
                == "id, name, status, sweep_id, created_at, learning_rate, epochs, hidden, "
                + "activation, last_epoch, best_val_loss, best_val_accuracy, pid, host")
    }
}
