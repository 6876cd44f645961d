/// Test cases that block their thread, run on threads of their own.
///
/// Swift Testing runs test cases on Swift's cooperative pool: one thread per core, two here.
/// Most of this project's tests block their thread while a `mnistlab` child trains, a lease
/// runs out or a server restarts, and on the pool the two cores then sat idle 40% of the run
/// (BENCHMARKS.md, "Where the test time goes"). A suite marked `.blocksItsThread` runs each of
/// its test cases on threads of its own instead, so that others use the cores while it waits.
/// It changes nothing else: the same task runs the test (its issues, time limit and
/// task-locals), only on another thread.
///
/// Only when Swift Testing bounds how many test cases run at once
/// (`SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH`, which `.ci/run` sets): off the pool,
/// nothing else would, and every test would start together. Swift Testing holds a case back
/// before its time limit starts, so a case waiting for its turn is not timed.
import Foundation
import Testing

public struct BlocksItsThread: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // The suite and the test function pass through; each case moves.
        guard testCase != nil, Self.widthIsBounded else { return try await function() }
        try await withTaskExecutorPreference(ThreadPerJob.executor) { try await function() }
    }

    static let widthIsBounded =
        ProcessInfo.processInfo.environment["SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH"].flatMap { Int($0) } != nil
}

extension Trait where Self == BlocksItsThread {
    /// Runs each test case on threads of its own, off Swift's cooperative pool, when the
    /// number of cases at once is bounded.
    public static var blocksItsThread: Self { BlocksItsThread() }
}

/// A task executor that runs each job on a new thread: a job that blocks holds only its own.
final class ThreadPerJob: TaskExecutor {
    static let executor = ThreadPerJob()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let thread = Thread { job.runSynchronously(on: executor) }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
