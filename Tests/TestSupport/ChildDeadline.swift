/// The bound on a child process a test waits for: killed once its time is up, so that a child
/// that stalls (a command, Chromium, a shell tool) ends, its pipes close and its test fails
/// saying so, instead of hanging the whole run.
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

public final class ChildDeadline {
    private final class Flag: Sendable {
        let value = Mutex(false)
    }

    private let fired: Flag
    private let work: DispatchWorkItem

    /// Starts the clock on `process`, which is running: it is killed (SIGKILL) after
    /// `seconds` unless `cancel()` comes first.
    public convenience init(_ process: Process, seconds: Double) {
        self.init(pid: process.processIdentifier, seconds: seconds)
    }

    /// The same for a child started otherwise (posix_spawn).
    ///
    /// The work item holds only the pid: a cancelled one is kept by the queue until its
    /// deadline, and one holding the Process would keep its pipes' descriptors open that long
    /// (thousands of commands in 10 minutes ran the test process out of them).
    public init(pid: pid_t, seconds: Double) {
        let fired = Flag()
        self.fired = fired
        work = DispatchWorkItem {
            fired.value.withLock { $0 = true }
            kill(pid, SIGKILL)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: work)
    }

    /// Stops the clock; call it once the process has exited.
    public func cancel() { work.cancel() }

    /// Whether the process was killed for running past its deadline.
    public var killed: Bool { fired.value.withLock { $0 } }
}

extension Process {
    /// Reads `pipes` to their end, then waits for the exit of this running process, which is
    /// killed if it runs past `seconds` (its status then says SIGKILL, which no test expects):
    /// what it wrote on `pipes`, and whether it was killed.
    @discardableResult
    public func waitForExit(
        within seconds: Double = Sandbox.commandDeadline, reading pipes: [Pipe] = []
    ) -> (output: [Data], killed: Bool) {
        let deadline = ChildDeadline(self, seconds: seconds)
        let output = drain(pipes)
        waitUntilExit()
        deadline.cancel()
        return (output, deadline.killed)
    }

    /// What comes through `pipes` until each is at its end, or until this process has exited
    /// and nothing came for a second: another process holding a pipe's write end (one that
    /// inherited it) must not keep the read from ending.
    private func drain(_ pipes: [Pipe]) -> [Data] {
        var output = Array(repeating: Data(), count: pipes.count)
        var open = Array(pipes.indices)
        var quietSince: Date?
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while !open.isEmpty {
            var polled = open.map {
                pollfd(fd: pipes[$0].fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
            }
            guard poll(&polled, nfds_t(polled.count), 100) > 0 else {
                if isRunning { continue }
                let since = quietSince ?? Date()
                quietSince = since
                if Date().timeIntervalSince(since) > 1 { break }
                continue
            }
            quietSince = nil
            for (slot, index) in zip(polled, open).reversed() where slot.revents != 0 {
                let count = read(slot.fd, &buffer, buffer.count)
                if count > 0 {
                    output[index].append(contentsOf: buffer[..<count])
                } else if count == 0 || errno != EINTR {
                    open.removeAll { $0 == index }
                }
            }
        }
        return output
    }
}
