import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small shell process that cleans up after a test's server when the test process
/// is gone, however it ended (a crash, a kill -9, a timeout): it blocks reading a
/// pipe only this process holds the write end of, and runs `script` at end of file.
/// Shared by the private Postfix and the private Dovecot.
struct ParentDeathWatchdog {
    private var pid: pid_t?
    private var pipeEnd: Int32 = -1

    /// Starts `/bin/sh -c "wait for the pipe to close; SCRIPT" NAME ARGUMENTS...`.
    /// A watchdog that cannot start leaves the test without one, not broken.
    init(name: String, script: String, arguments: [String]) {
        var fds: [Int32] = [-1, -1]
        // pipe2 is hidden from Swift; our spawns close every descriptor above 2 anyway.
        guard pipe(&fds) == 0 else { return }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer {
            close(fds[0])
            if devNull >= 0 { close(devNull) }
        }
        let body = "while read -r _line; do :; done\n" + script
        do {
            pid = try Spawner.spawn(
                executable: "/bin/sh", arguments: ["-c", body, name] + arguments,
                environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"],
                stdin: fds[0], stdout: devNull, stderr: devNull, workingDirectory: nil)
            pipeEnd = fds[1]
        } catch {
            close(fds[1])
        }
    }

    /// Kills and reaps the watchdog before closing its pipe, so it does not act
    /// (the test stopped its server itself).
    mutating func stop() {
        if let pid {
            kill(pid, SIGKILL)
            _ = Spawner.reap(pid, block: true)
            self.pid = nil
        }
        if pipeEnd >= 0 {
            close(pipeEnd)
            pipeEnd = -1
        }
    }
}
