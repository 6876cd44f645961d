import Foundation

/// Polls `condition` every `interval` seconds until it holds or `seconds` pass: whether it
/// held. The wait a test puts in place of a fixed sleep: it ends as soon as what it waits for
/// has happened, and never waits past its deadline (the caller's expectation then fails,
/// saying what it waited for).
public func eventually(
    within seconds: Double, every interval: Double = 0.05, _ condition: () throws -> Bool
) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    }
    return try condition()
}
