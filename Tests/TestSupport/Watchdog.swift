import Foundation

/// Runs the shell `commands` once this test process is gone, from a shell in a session of its
/// own: what stops a server the tests started when the process is killed and neither its
/// `stop` nor `atexit` runs. Without a watchdog a server still stops at a normal exit.
public func whenThisProcessEnds(run commands: String) {
    let watchdog = Process()
    watchdog.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
    watchdog.arguments = [
        "/bin/sh", "-c",
        """
        while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
        \(commands)
        """,
    ]
    watchdog.standardInput = FileHandle.nullDevice
    watchdog.standardOutput = FileHandle.nullDevice
    watchdog.standardError = FileHandle.nullDevice
    try? watchdog.run()
}
