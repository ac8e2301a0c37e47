import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A private redis-server for one test: its own directory under /tmp, a unix socket
/// there (or a free loopback port), no persistence (`save ""`, `appendonly no`), and
/// an optional `requirepass`. Never Debian's system service, never port 6379.
///
/// The server is stopped in `stop()` or deinit, and by a watchdog if the test
/// process dies first (a crash, a timeout), so no redis-server outlives its test.
/// A missing redis-server is an error naming the package, not a skipped test.
public final class RedisInstance: @unchecked Sendable {
    // The lock serialises start, stop and the signal helpers; a test calls them
    // from one thread, but deinit may run elsewhere.
    private let lock = NSLock()
    public let directory: String
    /// The unix socket, when the instance listens on one.
    public let socketPath: String?
    /// The loopback TCP port, when the instance listens on one.
    public let port: Int?
    public let password: String?
    private let executable: String
    private var process: LaunchedProcess?
    private var watchdog: ParentDeathWatchdog?
    private var removed = false

    /// Where Debian's redis-server package installs the server.
    public static let defaultExecutable = "/usr/bin/redis-server"

    /// Makes the directory and the configuration; `start()` runs the server.
    /// - Parameters:
    ///   - tcp: listen on a free 127.0.0.1 port instead of a unix socket.
    ///   - password: `requirepass`.
    public init(tcp: Bool = false, password: String? = nil, executable: String = RedisInstance.defaultExecutable) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw HarnessError("redis-server is not installed (\(executable) not found): the Redis store's tests need a real server; install Debian's redis-server package (scripts/install-deps --test)")
        }
        self.executable = executable
        directory = try TestDirectory.make(prefix: "vigie-redis-")
        self.password = password
        if tcp {
            port = try LoopbackPort.free()
            socketPath = nil
        } else {
            port = nil
            socketPath = directory + "/redis.sock"
        }
        var lines = [
            "bind 127.0.0.1",
            "port \(port ?? 0)",
            "dir \(directory)",
            "save \"\"",
            "appendonly no",
            "daemonize no",
            "supervised no",
            "protected-mode no",
            "databases 16",
            // DEBUG SLEEP makes a slow server for the time-budget tests.
            "enable-debug-command local",
        ]
        if let socketPath { lines += ["unixsocket \(socketPath)", "unixsocketperm 700"] }
        if let password { lines.append("requirepass \(password)") }
        try (lines.joined(separator: "\n") + "\n").write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    deinit { stop() }

    public var configPath: String { directory + "/redis.conf" }

    /// The server's pid while it runs.
    public var pid: pid_t? { lock.withLock { process?.pid } }

    /// Starts the server (again, after `stop`/`kill9`) and waits until it accepts connections.
    public func start(timeout: TimeInterval = 10) throws {
        try lock.withLock {
            guard !removed else { throw HarnessError("this RedisInstance was removed; make a new one") }
            if let process, process.isRunning { return }
            let launched = try LaunchedProcess(executable, [configPath], outputPath: directory + "/redis-\(UUID().uuidString).log")
            process = launched
            watchdog?.stop()
            watchdog = ParentDeathWatchdog(
                name: "vigie-redis-watchdog",
                script: "kill -KILL \"$2\" 2>/dev/null\n[ -n \"$3\" ] || rm -rf \"$1\"",
                arguments: [directory, String(launched.pid), TestDirectory.keepRequested ? "1" : ""])
            do {
                // Redis 7 logs "Ready to accept connections tcp" for a port and "The
                // server is now ready to accept connections at PATH" for a socket.
                try Wait.until("redis-server to accept connections", timeout: timeout, interval: 0.01) {
                    if let status = launched.exitStatus {
                        throw HarnessError("redis-server exited with status \(status):\n\(launched.output())")
                    }
                    return launched.output().lowercased().contains("ready to accept connections")
                }
            } catch {
                launched.kill9()
                throw HarnessError("private redis-server in \(directory) did not start: \(error)")
            }
        }
    }

    /// SIGSTOP: the server keeps its sockets open but answers nothing (a hung server).
    public func pause() { lock.withLock { process?.send(signal: SIGSTOP) } }

    /// SIGCONT after `pause()`.
    public func resume() { lock.withLock { process?.send(signal: SIGCONT) } }

    /// SIGKILL, as a crash would: connections are reset, the directory stays, and
    /// `start()` brings a fresh (empty) server back on the same socket or port.
    public func kill9() {
        lock.withLock {
            guard let process else { return }
            process.send(signal: SIGCONT)
            process.kill9()
            process.waitForExit(timeout: 5)
            self.process = nil
            if let socketPath { unlink(socketPath) }
        }
    }

    /// Stops the server and removes the directory (kept if `VIGIE_KEEP_TEST_DIRS=1`).
    /// Safe to call more than once.
    public func stop() {
        lock.withLock {
            if let process {
                process.send(signal: SIGCONT)
                process.stop(grace: 5)
                self.process = nil
            }
            watchdog?.stop()
            watchdog = nil
            if !removed {
                if !TestDirectory.keepRequested { try? FileManager.default.removeItem(atPath: directory) }
                removed = true
            }
        }
    }

    /// What the server logged, for a failing test's message.
    public func log() -> String { lock.withLock { process?.output() ?? "" } }
}
